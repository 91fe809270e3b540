import MdevModel

/// Finds the processes that hold VFIO files open, by reading `/proc/<pid>/fd` links.
///
/// A VM (QEMU) holds its device's VFIO group `/dev/vfio/<N>`, or with iommufd the device's cdev
/// `/dev/vfio/devices/vfioN`. Writing `remove` for such a device blocks until the holder lets go, so a
/// device with a holder is never removed.
public struct VFIOHolderScanner: Sendable {
    /// The directory that plays `/proc`.
    public let procRoot: String

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// What one scan found.
    public struct Scan: Sendable {
        /// Holders per opened path (`/dev/vfio/12`, `/dev/vfio/devices/vfio0`).
        public var holders: [String: [DeviceHolder]] = [:]
        /// Processes whose open files could not be read (not running as root): the scan is incomplete.
        public var uninspectable: [Int32] = []

        /// The holders of a device in IOMMU group `group` whose VFIO cdevs are `cdevs`.
        ///
        /// When some processes could not be inspected, any of them may hold the device: it is then reported
        /// held by an unknown holder (pid 0), so it is never taken for free.
        public func holders(group: String?, cdevs: [String]) -> [DeviceHolder] {
            let paths = (group.map { ["/dev/vfio/\($0)"] } ?? []) + cdevs.map { "/dev/vfio/devices/\($0)" }
            let found = Array(Set(paths.flatMap { holders[$0] ?? [] })).sorted { $0.pid < $1.pid }
            if found.isEmpty && !uninspectable.isEmpty {
                return [DeviceHolder(pid: 0, command: "unknown: \(uninspectable.count) processes could not be inspected")]
            }
            return found
        }
    }

    /// Scans every process.
    /// - Throws: ``SysfsError`` when the proc root cannot be listed.
    public func scan() throws(SysfsError) -> Scan {
        var scan = Scan()
        for name in try FileSystem.list(procRoot) {
            guard let pid = Int32(name) else { continue }
            let processDirectory = procRoot.appending(name)
            let fdDirectory = processDirectory.appending("fd")
            let descriptors: [String]
            do {
                descriptors = try FileSystem.list(fdDirectory)
            } catch {
                // A process that exited meanwhile is no holder; one we may not look at makes the scan incomplete.
                if error.errno == .permissionDenied { scan.uninspectable.append(pid) }
                continue
            }
            var opened: Set<String> = []
            for descriptor in descriptors {
                if let target = try? FileSystem.readLink(fdDirectory.appending(descriptor)), target.hasPrefix("/dev/vfio/") {
                    opened.insert(target)
                }
            }
            guard !opened.isEmpty else { continue }
            let command = (try? FileSystem.readText(processDirectory.appending("comm")))?.trimmingSpaces() ?? "?"
            let holder = DeviceHolder(pid: pid, command: command)
            for path in opened where path != "/dev/vfio/vfio" {
                scan.holders[path, default: []].append(holder)
            }
        }
        return scan
    }
}

