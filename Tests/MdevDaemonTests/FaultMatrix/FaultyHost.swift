import Foundation
import MdevModel
import MdevSysfs
import SystemPackage

/// What happens at one write of a pass.
enum Fault: Sendable, Hashable, CustomStringConvertible {
    /// The write fails with this errno. EEXIST is returned after the device was made, as when another program
    /// created it; every other errno leaves the host as it was.
    case errno(Errno)
    /// The parent's card vanishes (its driver reloading) and the write fails with ENODEV; the driver has
    /// registered it again, empty, by the next reading.
    case vanish
    /// The process dies before this write: it and every later write never happen.
    case kill

    var description: String {
        switch self {
        case .errno(let errno): errno.symbolicName
        case .vanish: "vanish"
        case .kill: "kill"
        }
    }
}

/// Wraps a simulated host, counts its writes (`create`, `remove`) and injects one fault at write `index`.
final class FaultyHost: ReconcileEngine.Host {
    let host: any ReconcileEngine.Host
    let fault: Fault?
    let index: Int
    /// Called at a `.vanish` fault with the parent written to: takes its card away.
    let vanish: @Sendable (String) -> Void
    /// Called before every reading: brings a vanished card back.
    let beforeRead: @Sendable () -> Void

    struct Log: Sendable {
        /// Every write attempted, in order, as `create <parent> <uuid>` / `remove <uuid>`.
        var attempts: [String] = []
        /// Devices removed by a write that succeeded.
        var removed: [UUID] = []
        var killed = false
    }

    let log = LockedValue(Log())

    init(
        _ host: any ReconcileEngine.Host, fault: Fault? = nil, at index: Int = -1, vanish: @escaping @Sendable (String) -> Void = { _ in },
        beforeRead: @escaping @Sendable () -> Void = {}
    ) {
        self.host = host
        self.fault = fault
        self.index = index
        self.vanish = vanish
        self.beforeRead = beforeRead
    }

    func readInventory() throws -> InventoryReading {
        beforeRead()
        return try host.readInventory()
    }

    func readParents(_ names: Set<String>) throws -> InventoryReading {
        beforeRead()
        return try host.readParents(names)
    }
    func availableInstances(of type: String, at parent: ParentLocation) throws -> Int { try host.availableInstances(of: type, at: parent) }
    func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder] { try host.holders(of: uuid, at: parent) }

    func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws {
        try write("create \(parent.name) \(uuid.sysfsString)", parent: parent.name) { try host.create(uuid, type: type, at: parent) }
    }

    func remove(_ uuid: UUID, at parent: ParentLocation) throws {
        try write("remove \(uuid.sysfsString)", parent: parent.name) {
            try host.remove(uuid, at: parent)
            log.withLock { $0.removed.append(uuid) }
        }
    }

    private func write(_ attempt: String, parent: String, _ body: () throws -> Void) throws {
        let number = log.withLock { log -> Int? in
            if log.killed { return nil }
            log.attempts.append(attempt)
            return log.attempts.count - 1
        }
        guard let number else { throw Errno.ioError }  // A dead process writes nothing.
        guard number == index, let fault else { return try body() }
        switch fault {
        case .errno(.fileExists):
            try body()
            throw SysfsError(.write, "/sys/fault-injected", .fileExists)
        case .errno(let errno):
            throw SysfsError(.write, "/sys/fault-injected", errno)
        case .vanish:
            vanish(parent)
            throw SysfsError(.write, "/sys/fault-injected", .operationNotSupportedByDevice)
        case .kill:
            log.withLock {
                $0.killed = true
                $0.attempts.removeLast()
            }
            throw Errno.ioError
        }
    }
}
