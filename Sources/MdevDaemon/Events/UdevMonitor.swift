import CUdev
import Dispatch
import Glibc
import MdevSysfs

/// Receives uevents through libudev's netlink monitor and turns each into a ``DeviceEvent``.
///
/// Uses the "udev" group (events after udevd's rules) when udevd runs, else the "kernel" group (raw
/// uevents: containers, minimal hosts). No subsystem filter is installed: parents live on many buses, and
/// ``UeventRouter`` decides what matters.
public final class UdevMonitor: @unchecked Sendable {
    // Invariant: `udev`, `monitor` and `source` are touched only on `queue` after `init`.
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let queue: DispatchQueue
    private var source: DispatchSourceRead?
    /// The netlink group in use: `udev` or `kernel`.
    public let group: String

    /// What the monitor reports.
    public enum Output: Sendable {
        case event(DeviceEvent)
        /// The socket's buffer overflowed (ENOBUFS): events were lost, rescan everything.
        case lost
    }

    /// Opens the monitor.
    /// - Parameters:
    ///   - group: `udev`, `kernel`, or nil to pick `udev` when udevd's control socket exists.
    ///   - udevControl: where udevd's control socket is (`/run/udev/control` under the host root).
    ///   - receiveBufferSize: the socket's receive buffer; events beyond it are lost (ENOBUFS, then ``Output/lost``).
    public init(
        group: String? = nil, udevControl: String, receiveBufferSize: Int = 8 << 20, queue: DispatchQueue
    ) throws(DaemonSetupError) {
        let group = group ?? (FileSystem.exists(udevControl) ? "udev" : "kernel")
        guard let udev = udev_new() else { throw DaemonSetupError("udev_new failed: \(String(cString: strerror(errno)))") }
        guard let monitor = udev_monitor_new_from_netlink(udev, group) else {
            udev_unref(udev)
            throw DaemonSetupError("cannot open the udev monitor (\(group) group): \(String(cString: strerror(errno)))")
        }
        _ = udev_monitor_set_receive_buffer_size(monitor, Int32(receiveBufferSize))
        let status = udev_monitor_enable_receiving(monitor)
        guard status >= 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw DaemonSetupError("cannot receive udev events: \(String(cString: strerror(-status)))")
        }
        self.udev = udev
        self.monitor = monitor
        self.queue = queue
        self.group = group
    }

    deinit {
        source?.cancel()
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// Starts delivering events to `emit`, on the monitor's queue, in arrival order.
    public func start(_ emit: @escaping @Sendable (Output) -> Void) {
        queue.async { [self] in
            let source = DispatchSource.makeReadSource(fileDescriptor: udev_monitor_get_fd(monitor), queue: queue)
            source.setEventHandler { [self] in drain(emit) }
            self.source = source
            source.activate()
        }
    }

    public func stop() {
        queue.async { [self] in source?.cancel() }
    }

    /// Reads every queued event: the socket is non-blocking.
    private func drain(_ emit: @Sendable (Output) -> Void) {
        while true {
            errno = 0
            guard let device = udev_monitor_receive_device(monitor) else {
                if errno == ENOBUFS { emit(.lost); continue }
                return
            }
            emit(.event(Self.event(from: device)))
            udev_device_unref(device)
        }
    }

    private static func event(from device: OpaquePointer) -> DeviceEvent {
        func text(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }
        var properties: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(device)
        while let current = entry {
            properties[text(udev_list_entry_get_name(current))] = text(udev_list_entry_get_value(current))
            entry = udev_list_entry_get_next(current)
        }
        return DeviceEvent(
            action: text(udev_device_get_action(device)), subsystem: text(udev_device_get_subsystem(device)),
            devpath: text(udev_device_get_devpath(device)), sysname: text(udev_device_get_sysname(device)),
            properties: properties)
    }
}

/// The daemon could not set up an event source or another part it needs to run.
public struct DaemonSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
