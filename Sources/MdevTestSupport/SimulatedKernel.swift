import Foundation
import MdevModel
import MdevSysfs
import SystemPackage

/// An in-process stand-in for the kernel's mdev core and its drivers, behind the same protocols as the
/// real sysfs, enforcing the rules real drivers enforce:
/// - `create` makes the device appear and lowers capacity; EEXIST for a UUID in use; ENOSPC at zero;
/// - NVIDIA time-sliced GPUs (``CapacityRule/exclusive``): once a type has a device, the others read 0;
/// - GVT-g and mtty (``CapacityRule/sharedPool(units:)``): one pool of units shared by all types;
/// - removing a device a process holds blocks in the kernel until the holder lets go: here too (a write that
///   does not return), and it is recorded in ``violations``, so a test can assert it never happens;
/// - a parent going away (``State/goingAway``: its driver unregistering it) fails creates and removes with
///   ENODEV, and a remove that failed leaves the device without its `remove` file (6.1), so removing it again
///   fails with ENOENT until the parent has gone;
/// - unplugging a parent with a held device does not drop the device at once: the parent goes away, and
///   goes with its devices once no device of it is held;
/// - a parent or device that vanished since the reading fails the write with ENOENT, its files being gone.
public final class SimulatedKernel: InventorySource, MdevDeviceControl, Sendable {
    /// How a parent's types share its capacity.
    public enum CapacityRule: Sendable, Hashable {
        /// One type at a time; each type holds up to its `maxInstances`.
        case exclusive
        /// A pool of units shared by every type; a device costs its type's `poolCost`.
        case sharedPool(units: Int)
        /// An SR-IOV virtual function of a time-sliced GPU (mdev mode): it holds one device; the GPU (its
        /// card) takes one type, and at most that type's `maxInstances` devices across its functions.
        case virtualFunction
    }

    public struct TypeSpec: Sendable, Hashable {
        public var id: String
        public var name: String?
        public var description: String?
        public var deviceAPI: String
        public var maxInstances: Int
        public var poolCost: Int

        public init(id: String, name: String? = nil, description: String? = nil, deviceAPI: String = "vfio-pci", maxInstances: Int, poolCost: Int = 1) {
            self.id = id
            self.name = name
            self.description = description
            self.deviceAPI = deviceAPI
            self.maxInstances = maxInstances
            self.poolCost = poolCost
        }
    }

    public struct ParentSpec: Sendable, Hashable {
        public var name: String
        /// The physical GPU of a virtual function; nil for a parent that is its own card.
        public var card: String?
        public var driver: String
        public var pciID: String?
        public var rule: CapacityRule
        public var types: [TypeSpec]

        public init(name: String, card: String? = nil, driver: String, pciID: String? = nil, rule: CapacityRule, types: [TypeSpec]) {
            self.name = name
            self.card = card
            self.driver = driver
            self.pciID = pciID
            self.rule = rule
            self.types = types
        }
    }

    public struct Device: Sendable, Hashable {
        public var uuid: UUID
        public var parent: String
        public var type: String
        public var holders: [DeviceHolder] = []
        public var iommuGroup: Int
        /// A remove failed while its parent was going away: the device has no `remove` file any more.
        public var removeFileGone = false
    }

    /// The simulated kernel's whole state, open for tests to inspect and change.
    public struct State: Sendable {
        public var parents: [ParentSpec] = []
        public var devices: [UUID: Device] = [:]
        /// Errnos the next creates (or removes) on a parent fail with, consumed in order.
        public var createFaults: [String: [Errno]] = [:]
        public var removeFaults: [String: [Errno]] = [:]
        /// When set, every reading fails with it (sysfs or /proc unreadable).
        public var readFault: SysfsError?
        /// Parents that exist but cannot be read: readings leave them out with a warning.
        public var unreadableParents: Set<String> = []
        /// Parents their driver is unregistering: creates and removes fail with ENODEV.
        public var goingAway: Set<String> = []
        /// Parents unplugged while a device of theirs was held: they go once none is.
        public var unplugged: Set<String> = []
        public var violations: [String] = []
        public var inventoryReads = 0
        /// How often each parent was read, by a full or a partial reading.
        public var parentReads: [String: Int] = [:]
        public var creates = 0
        public var removes = 0
        public var nextIOMMUGroup = 0
    }

    public let state: LockedValue<State>
    /// Removes of held devices, blocked until their holders let go.
    private let blockedRemoves = LockedValue<[UUID: DispatchSemaphore]>([:])
    /// Each device whose remove blocked, when it blocked: for tests to wait on.
    public let blockedRemovals = Recorder<UUID>()

    public init(parents: [ParentSpec] = []) {
        var state = State()
        state.parents = parents
        self.state = LockedValue(state)
    }

    // MARK: Test controls

    /// Adds a device as another program (or an earlier run) would have.
    public func addDevice(_ uuid: UUID, type: String, on parent: String, holders: [DeviceHolder] = []) {
        state.withLock { state in
            state.devices[uuid] = Device(uuid: uuid, parent: parent, type: type, holders: holders, iommuGroup: state.nextIOMMUGroup)
            state.nextIOMMUGroup += 1
        }
    }

    /// Sets the processes holding a device (a VM starting or exiting).
    public func setHolders(_ holders: [DeviceHolder], of uuid: UUID) {
        state.withLock { state in
            state.devices[uuid]?.holders = holders
            Self.finishUnplugs(&state)
        }
        if holders.isEmpty { blockedRemoves.withLock { $0.removeValue(forKey: uuid) }?.signal() }
    }

    /// Parents going away because they were unplugged go, with their devices, once none of them is held.
    private static func finishUnplugs(_ state: inout State) {
        for name in state.goingAway where state.unplugged.contains(name) {
            guard !state.devices.values.contains(where: { $0.parent == name && !$0.holders.isEmpty }) else { continue }
            state.parents.removeAll { $0.name == name }
            state.devices = state.devices.filter { $0.value.parent != name }
            state.goingAway.remove(name)
            state.unplugged.remove(name)
        }
    }

    public var devices: [Device] {
        state.withLock { Array($0.devices.values) }.sorted { $0.uuid.sysfsString < $1.uuid.sysfsString }
    }

    // MARK: InventorySource

    public func readInventory() throws -> InventoryReading {
        try state.withLock { state in
            if let fault = state.readFault { throw fault }
            state.inventoryReads += 1
            for parent in state.parents { state.parentReads[parent.name, default: 0] += 1 }
            return Self.reading(of: state, parents: state.parents, asked: nil)
        }
    }

    public func readParents(_ names: Set<String>) throws -> InventoryReading {
        try state.withLock { state in
            if let fault = state.readFault { throw fault }
            let present = state.parents.filter { names.contains($0.name) }
            for parent in present { state.parentReads[parent.name, default: 0] += 1 }
            return Self.reading(of: state, parents: present, asked: names)
        }
    }

    /// Adds a parent at run time (a driver registering it); it emits no event by itself.
    public func addParent(_ parent: ParentSpec) {
        state.withLock { $0.parents.append(parent) }
    }

    /// Removes a parent and its devices (a driver unloading, a card unplugged). With a device held, the
    /// parent is going away until no device of it is held, and goes then.
    public func removeParent(named name: String) {
        state.withLock { state in
            state.goingAway.insert(name)
            state.unplugged.insert(name)
            Self.finishUnplugs(&state)
        }
    }

    /// A reading of `parents`, leaving out the unreadable ones as the sysfs reader does.
    static func reading(of state: State, parents: [ParentSpec], asked: Set<String>?) -> InventoryReading {
        let unreadable = parents.filter { state.unreadableParents.contains($0.name) }.map(\.name)
        let readable = inventory(of: state, parents: parents.filter { !state.unreadableParents.contains($0.name) })
        var reading = InventoryReading(
            inventory: readable,
            locations: Dictionary(uniqueKeysWithValues: readable.parents.map { parent in
                let directory = "/sys/class/mdev_bus/\(parent.name)"
                return (parent.name, ParentLocation.mdev(MdevParentLocation(
                    name: parent.name, directory: directory,
                    types: Dictionary(uniqueKeysWithValues: parent.types.map { ($0.id, "\(directory)/mdev_supported_types/\($0.id)") }),
                    devices: Dictionary(uniqueKeysWithValues: parent.devices.map { ($0.uuid, "\(directory)/\($0.uuid.sysfsString)") }))))
            }),
            gone: asked?.subtracting(parents.map(\.name)) ?? [],
            warnings: unreadable.map { "parent \($0) left out: read /sys/class/mdev_bus/\($0): Input/output error" })
        reading.incomplete = Dictionary(uniqueKeysWithValues: unreadable.map { ($0, "read /sys/class/mdev_bus/\($0): Input/output error") })
        return reading
    }

    static func inventory(of state: State, parents: [ParentSpec]? = nil) -> Inventory {
        Inventory(parents: (parents ?? state.parents).map { spec in
            Parent(
                name: spec.name, card: spec.card, driver: spec.driver, pciID: spec.pciID,
                types: spec.types.map {
                    MdevType(id: $0.id, name: $0.name, availableInstances: available($0.id, on: spec, in: state),
                             deviceAPI: $0.deviceAPI, description: $0.description)
                },
                devices: state.devices.values.filter { $0.parent == spec.name }.map {
                    MdevDevice(uuid: $0.uuid, type: $0.type, holders: $0.holders)
                },
                instanceLimit: spec.rule == .virtualFunction ? 1 : nil)
        })
    }

    static func available(_ typeID: String, on parent: ParentSpec, in state: State) -> Int {
        guard let type = parent.types.first(where: { $0.id == typeID }) else { return 0 }
        let devices = state.devices.values.filter { $0.parent == parent.name }
        let ofType = devices.filter { $0.type == typeID }.count
        switch parent.rule {
        case .exclusive:
            if devices.contains(where: { $0.type != typeID }) { return 0 }
            return max(0, type.maxInstances - ofType)
        case .virtualFunction:
            let gpu = state.parents.filter { ($0.card ?? $0.name) == (parent.card ?? parent.name) }.map(\.name)
            let onGPU = state.devices.values.filter { gpu.contains($0.parent) }
            if !devices.isEmpty || onGPU.contains(where: { $0.type != typeID }) { return 0 }
            return onGPU.count < type.maxInstances ? 1 : 0
        case .sharedPool(let units):
            let used = devices.reduce(0) { sum, device in
                sum + (parent.types.first { $0.id == device.type }?.poolCost ?? 1)
            }
            return max(0, min((units - used) / type.poolCost, type.maxInstances - ofType))
        }
    }

    // MARK: MdevDeviceControl

    public func availableInstances(of type: String, at parent: ParentLocation) throws -> Int {
        try state.withLock { state in
            let spec = try Self.parent(parent.name, in: state)
            guard try Self.location(parent).types[type] != nil, spec.types.contains(where: { $0.id == type }) else {
                throw NotDiscoveredError("type \(type) of parent \(parent.name)")
            }
            return Self.available(type, on: spec, in: state)
        }
    }

    public func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws {
        try state.withLock { state in
            let name = parent.name
            let spec = try Self.parent(name, in: state)
            let path = "/sys/class/mdev_bus/\(name)/mdev_supported_types/\(type)/create"
            guard try Self.location(parent).types[type] != nil, spec.types.contains(where: { $0.id == type }) else {
                throw NotDiscoveredError("type \(type) of parent \(name)")
            }
            if state.goingAway.contains(name) { throw SysfsError(.write, path, .operationNotSupportedByDevice) }
            if let fault = state.createFaults[name]?.first {
                state.createFaults[name]!.removeFirst()
                throw SysfsError(.write, path, fault)
            }
            if state.devices[uuid] != nil { throw SysfsError(.write, path, .fileExists) }
            if Self.available(type, on: spec, in: state) == 0 { throw SysfsError(.write, path, .noSpace) }
            state.devices[uuid] = Device(uuid: uuid, parent: name, type: type, iommuGroup: state.nextIOMMUGroup)
            state.nextIOMMUGroup += 1
            state.creates += 1
        }
    }

    public func remove(_ uuid: UUID, at parent: ParentLocation) throws {
        let path = "/sys/bus/mdev/devices/\(uuid.sysfsString)/remove"
        // A held device: the write does not return until the holder lets go (then the remove goes on).
        let blocked = try state.withLock { state -> DispatchSemaphore? in
            guard try Self.location(parent).devices[uuid] != nil else { throw NotDiscoveredError("device \(uuid.sysfsString) of parent \(parent.name)") }
            guard let device = state.devices[uuid], device.parent == parent.name, !device.removeFileGone else {
                throw SysfsError(.open, path, .noSuchFileOrDirectory)
            }
            guard !device.holders.isEmpty else { return nil }
            state.violations.append("removed \(uuid.sysfsString) while held by \(device.holders)")
            return blockedRemoves.withLock { removes in
                if let semaphore = removes[uuid] { return semaphore }
                let semaphore = DispatchSemaphore(value: 0)
                removes[uuid] = semaphore
                return semaphore
            }
        }
        if let blocked {
            blockedRemovals.record(uuid)
            blocked.wait()
            blocked.signal()  // Let another remove blocked on it go on too.
        }
        try state.withLock { state in
            guard let device = state.devices[uuid], device.parent == parent.name else { throw SysfsError(.open, path, .noSuchFileOrDirectory) }
            if state.goingAway.contains(device.parent) {
                state.devices[uuid]?.removeFileGone = true
                throw SysfsError(.write, path, .operationNotSupportedByDevice)
            }
            if let fault = state.removeFaults[device.parent]?.first {
                state.removeFaults[device.parent]!.removeFirst()
                throw SysfsError(.write, path, fault)
            }
            state.devices[uuid] = nil
            state.removes += 1
        }
    }

    public func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder] {
        try state.withLock { state in
            guard try Self.location(parent).devices[uuid] != nil else { throw NotDiscoveredError("device \(uuid.sysfsString) of parent \(parent.name)") }
            guard let device = state.devices[uuid] else {
                throw SysfsError(.open, "/sys/bus/mdev/devices/\(uuid.sysfsString)", .noSuchFileOrDirectory)
            }
            return device.holders
        }
    }

    // MARK: The same by name, for tests: addressed by where a reading made now finds them.

    /// Where `parent` lives now, as a reading of it alone would say (not counted as a reading).
    public func location(of parent: String) throws -> ParentLocation {
        let location = state.withLock { state in
            Self.reading(of: state, parents: state.parents.filter { $0.name == parent }, asked: [parent]).locations[parent]
        }
        guard let location else {
            throw SysfsError(.open, "/sys/class/mdev_bus/\(parent)", .noSuchFileOrDirectory)
        }
        return location
    }

    public func availableInstances(of type: String, on parent: String) throws -> Int {
        try availableInstances(of: type, at: try location(of: parent))
    }

    public func create(_ uuid: UUID, type: String, on parent: String) throws {
        try create(uuid, type: type, at: try location(of: parent))
    }

    /// Removes a device of any parent.
    public func remove(_ uuid: UUID) throws {
        guard let parent = state.withLock({ $0.devices[uuid]?.parent }) else {
            throw SysfsError(.open, "/sys/bus/mdev/devices/\(uuid.sysfsString)/remove", .noSuchFileOrDirectory)
        }
        try remove(uuid, at: try location(of: parent))
    }

    private static func location(_ parent: ParentLocation) throws -> MdevParentLocation {
        guard case .mdev(let location) = parent else { throw NotDiscoveredError("parent \(parent.name)") }
        return location
    }

    private static func parent(_ name: String, in state: State) throws -> ParentSpec {
        // A parent that went away since it was read: its files are gone, as in the kernel.
        guard let spec = state.parents.first(where: { $0.name == name }) else {
            throw SysfsError(.open, "/sys/class/mdev_bus/\(name)", .noSuchFileOrDirectory)
        }
        return spec
    }
}

extension SimulatedKernel {
    /// `parent: type ×count` of the devices now on each parent.
    public var layout: [String] {
        state.withLock { state in
            state.parents.map { parent in
                let devices = state.devices.values.filter { $0.parent == parent.name }
                let counts = Dictionary(grouping: devices, by: \.type).map { "\($0.key) ×\($0.value.count)" }.sorted()
                return "\(parent.name): " + (counts.isEmpty ? "-" : counts.joined(separator: ", "))
            }
        }
    }
}
