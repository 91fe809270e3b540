import FoundationEssentials
import Glibc
import MdevModel
import SystemPackage

/// NVIDIA's vendor-specific framework (vGPU 17 and later, kernel 6.8 and later) behind the same protocols as
/// the mdev framework: each virtual function with `nvidia/current_vgpu_type` is a parent that holds one
/// vGPU, its GPU (the physical function) is its card.
///
/// - Types: a function's list (`creatable_vgpu_types`) shrinks once the GPU has a vGPU (to the types of
///   that size) and is empty when the function has one or the GPU is full. Where the driver's library
///   states the GPU's types (``VGPUTypeCatalog``, NVIDIA's NVML), every function of the GPU gets the types
///   it lists (``DriverVGPUTypes/listed``: while MIG mode is off also the MIG-backed ones, with the profile
///   each needs), with their exact names and ``MdevType/capacity``, and the parent says the GPU's MIG mode.
///   Elsewhere every function of a GPU gets every type any function of its model ever listed (kept in
///   ``VendorVGPURecord``), a type's capacity being the GPU's framebuffer (the largest type a free GPU
///   lists) over the type's; until a free GPU of the model was seen it is unknown, and a GPU is filled
///   function by function until the driver lists the type no more. Either way `available_instances` is 1 for the types the function's own list shows now,
///   else 0.
/// - A vGPU is a device known by a handle: the UUID the plan derived for it when this program configured
///   the function (from the record), else a UUID derived from the function and type, which marks it as
///   another program's.
/// - Create: the function must have no type; the type number is written and read back (these writes emit
///   no uevent). Remove: `0` is written, retrying EPERM (the driver refuses for a few seconds after a VM
///   exits) with the delays in ``clearRetryDelays``, and read back.
public final class VendorVGPUBackend: InventorySource, MdevDeviceControl {
    public let files: any VendorVGPUFiles
    public let record: VendorVGPURecord
    /// What the driver's library says of each GPU's types; nil where there is none (sysfs alone is read).
    public let catalog: (any VGPUTypeCatalog)?
    /// Waits between attempts to clear a function that refused with EPERM: ``defaultClearRetryDelays``, 8 s in
    /// all, for `apply`; the daemon fits them into its write deadline (``ReconcilerTiming``) and retries later
    /// with its own transient backoff.
    public let clearRetryDelays: [Duration]

    /// NVIDIA's driver refuses a clear for a few seconds after a VM exits: 0.5, 1, 1.5, 2 and 3 s.
    public static let defaultClearRetryDelays: [Duration] = [.milliseconds(500), .seconds(1), .milliseconds(1500), .seconds(2), .seconds(3)]
    private let sleep: @Sendable (Duration) -> Void

    public init(
        files: any VendorVGPUFiles, record: VendorVGPURecord, catalog: (any VGPUTypeCatalog)? = nil,
        clearRetryDelays: [Duration] = defaultClearRetryDelays,
        sleep: @escaping @Sendable (Duration) -> Void = VendorVGPUBackend.sleepBlocking
    ) {
        self.files = files
        self.record = record
        self.catalog = catalog
        self.clearRetryDelays = clearRetryDelays
        self.sleep = sleep
    }

    /// Blocks the calling thread for `duration` (this backend's calls run on blocking threads already).
    public static func sleepBlocking(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }

    /// The handle of a vGPU that is not recorded as this program's.
    public static func foreignHandle(function: String, type: String) -> UUID {
        UUID.nameBased(namespace: HostKey.applicationID, name: "nvidia-vgpu:\(function)/\(type)")
    }

    // MARK: InventorySource

    public func readInventory() throws -> InventoryReading {
        try read(try files.functions(), asked: nil)
    }

    public func readParents(_ names: Set<String>) throws -> InventoryReading {
        try read(names.sorted().compactMap { files.function(named: $0) }, asked: names)
    }

    private func read(_ functions: [VendorFunction], asked: Set<String>?) throws -> InventoryReading {
        var reading = InventoryReading(inventory: Inventory(parents: []))
        if let problem = record.takeLoadProblem() { reading.warnings.append(problem) }
        if let asked { reading.gone = asked.subtracting(functions.map(\.name)) }
        var states: [(function: VendorFunction, listed: [VGPUTypeListing], current: Int)] = []
        for function in functions {
            do {
                let listed = try CreatableVGPUTypes.parse(try files.creatableTypes(of: function))
                let current = try currentType(of: function)
                states.append((function, listed, current))
            } catch {
                reading.warnings.append("virtual function \(function.name) left out: \(error)")
                reading.incomplete[function.name] = "\(error)"
            }
        }
        // Each model's types, with their capacity, worked out once for all its functions.
        var modelTypes: [String: [(listing: VGPUTypeListing, capacity: Int?)]] = [:]
        for (model, members) in Dictionary(grouping: states, by: \.function.model) {
            do {
                try record.learn(members.flatMap(\.listed), pciID: model)
                // A free GPU (no function has a type) lists its model's every type, the largest one the size of
                // its framebuffer; a GPU with a vGPU lists only the types of that size. Only a full reading sees
                // every function of a GPU, so only it can tell a GPU is free.
                let freeGPU = Dictionary(grouping: members, by: \.function.gpu).values.first { $0.allSatisfy { $0.current == 0 } }
                if asked == nil, let freeGPU,
                    let largest = freeGPU.flatMap(\.listed).compactMap({ VGPUTypeListing.framebufferGB(ofTypeName: $0.name) }).max()
                {
                    try record.learnFramebuffer(largest, pciID: model)
                }
            } catch {
                reading.warnings.append("\(error)")
            }
            let framebuffer = record.framebuffer(model)
            modelTypes[model] = record.catalog(model).map { listing in
                (listing, VGPUTypeListing.framebufferGB(ofTypeName: listing.name).flatMap { size in framebuffer.map { $0 / size } })
            }
        }
        // What sysfs showed of each GPU, to check NVML against: every type its model listed, now or before (the
        // catalog just learnt), and the types its functions have.
        let shown = Dictionary(grouping: states, by: \.function.gpu).mapValues { members in
            (listed: (modelTypes[members[0].function.model] ?? []).map(\.listing), current: Set(members.map(\.current).filter { $0 != 0 }))
        }
        let stated = statedTypes(shown: shown, warnings: &reading.warnings)
        let holders = try files.holders(of: states.filter { $0.current != 0 }.map(\.function))
        var parents: [Parent] = []
        for state in states {
            let name = state.function.name
            let listed = Set(state.listed.map(\.number))
            let driver = stated[state.function.gpu]
            var types: [MdevType]
            if let driver {
                types = driver.listed.map { type in
                    MdevType(
                        id: VGPUTypeListing.typeID(number: type.number), name: type.name,
                        availableInstances: listed.contains(type.number) ? 1 : 0, deviceAPI: "vfio-pci", capacity: type.maxInstances,
                        capacitySource: .nvml, gpuInstanceProfile: type.gpuInstanceProfile)
                }
            } else {
                types = (modelTypes[state.function.model] ?? []).map { listing, capacity in
                    MdevType(
                        id: listing.typeID, name: listing.name, availableInstances: listed.contains(listing.number) ? 1 : 0,
                        deviceAPI: "vfio-pci", capacity: capacity, capacitySource: capacity == nil ? nil : .framebuffer)
                }
            }
            var devices: [MdevDevice] = []
            var handle: UUID?
            if state.current != 0 {
                let type = VGPUTypeListing.typeID(number: state.current)
                if !types.contains(where: { $0.id == type }) {
                    let stated = driver?.types.first { $0.number == state.current }
                    types.append(MdevType(
                        id: type, name: stated?.name, availableInstances: 0, deviceAPI: "vfio-pci", gpuInstanceProfile: stated?.gpuInstanceProfile))
                }
                let recorded = record.configured(name)
                let vGPU = recorded?.type == type ? recorded!.handle : Self.foreignHandle(function: name, type: type)
                devices.append(MdevDevice(uuid: vGPU, type: type, holders: holders[name] ?? []))
                handle = vGPU
            }
            reading.locations[name] = .vendorFunction(VendorFunctionLocation(function: state.function, handle: handle))
            parents.append(Parent(
                name: name, card: state.function.gpu, driver: state.function.driver, pciID: state.function.pciID, types: types,
                devices: devices, instanceLimit: 1, interface: .nvidiaVendorSpecific,
                migEnabled: driver.flatMap { $0.hasMIG ? $0.migEnabled : nil }))
        }
        reading.inventory = Inventory(parents: parents)
        return reading
    }

    /// What the catalog says of each GPU it knows. A GPU whose query failed is left to what was learnt, with a
    /// warning; so is one where sysfs shows a type (listed now or ever by its model, or held by a function) the
    /// catalog lacks or names otherwise: its ids would then not be the numbers sysfs uses, nothing could be
    /// created by them, and this program's own vGPUs would look unwanted.
    private func statedTypes(
        shown: [String: (listed: [VGPUTypeListing], current: Set<Int>)], warnings: inout [String]
    ) -> [String: DriverVGPUTypes] {
        guard let catalog else { return [:] }
        var stated: [String: DriverVGPUTypes] = [:]
        for (gpu, (listings, current)) in shown.sorted(by: { $0.key < $1.key }) {
            let types: DriverVGPUTypes?
            do {
                types = try catalog.types(ofGPU: gpu)
            } catch {
                warnings.append("NVML cannot list the vGPU types of GPU \(gpu) (\(error)); its types are what sysfs showed")
                continue
            }
            guard let types else { continue }
            let names = Dictionary(types.types.map { ($0.number, $0.name) }, uniquingKeysWith: { first, _ in first })
            if let differing = listings.first(where: { names[$0.number] != $0.name }) {
                let theirs = names[differing.number].map { "names it \($0.quoted)" } ?? "does not have it"
                warnings.append("NVML's vGPU types of GPU \(gpu) do not match sysfs's (sysfs lists \(differing.number) as "
                    + "\(differing.name.quoted), NVML \(theirs)); its types are what sysfs showed")
                continue
            }
            if let unknown = current.sorted().first(where: { names[$0] == nil }) {
                warnings.append("NVML's vGPU types of GPU \(gpu) do not match sysfs's (a function has type \(unknown), "
                    + "NVML does not have it); its types are what sysfs showed")
                continue
            }
            stated[gpu] = types
        }
        return stated
    }

    private func currentType(of function: VendorFunction) throws -> Int {
        let text = try files.currentType(of: function).trimmingSpaces()
        guard let number = SysfsNumber.count(text) else { throw VendorVGPUError.unreadableCurrentType(function: function.name, text: text) }
        return number
    }

    // MARK: MdevDeviceControl

    /// The function a location names, and the type number of `type`.
    private func target(_ type: String, at parent: ParentLocation) throws -> (VendorFunctionLocation, Int) {
        guard case .vendorFunction(let location) = parent, let number = VGPUTypeListing.number(ofTypeID: type) else {
            throw NotDiscoveredError("type \(type) of virtual function \(parent.name)")
        }
        return (location, number)
    }

    /// The function a location names, when `uuid` is the handle of the vGPU it was read with.
    private func function(holding uuid: UUID, at parent: ParentLocation) throws -> VendorFunction {
        guard case .vendorFunction(let location) = parent, location.handle == uuid else {
            throw NotDiscoveredError("vGPU \(uuid.sysfsString) of virtual function \(parent.name)")
        }
        return location.function
    }

    public func availableInstances(of type: String, at parent: ParentLocation) throws -> Int {
        let (location, number) = try target(type, at: parent)
        let listed = try CreatableVGPUTypes.parse(try files.creatableTypes(of: location.function))
        return listed.contains { $0.number == number } ? 1 : 0
    }

    public func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws {
        let (location, number) = try target(type, at: parent)
        let function = location.function
        let before = try currentType(of: function)
        // Another program configured it since the reading: its vGPU is not overwritten.
        guard before == 0 else { throw VendorVGPUError.alreadyConfigured(function: function.name, number: before) }
        try files.setCurrentType(String(number), of: function)
        let after = try currentType(of: function)
        guard after == number else { throw VendorVGPUError.notApplied(function: function.name, wrote: number, reads: after) }
        do {
            try record.set(.init(type: type, handle: uuid), for: function.name)
        } catch {
            throw VendorVGPUError.notRecorded(function: function.name, reason: "\(error)")
        }
    }

    public func remove(_ uuid: UUID, at parent: ParentLocation) throws {
        let function = try function(holding: uuid, at: parent)
        var attempt = 0
        while true {
            do {
                try files.setCurrentType("0", of: function)
                break
            } catch let error as SysfsError where error.errno == .notPermitted && attempt < clearRetryDelays.count {
                sleep(clearRetryDelays[attempt])
                attempt += 1
            }
        }
        let after = try currentType(of: function)
        guard after == 0 else { throw VendorVGPUError.notApplied(function: function.name, wrote: 0, reads: after) }
        if record.configured(function.name) != nil {
            do { try record.set(nil, for: function.name) } catch { throw VendorVGPUError.notRecorded(function: function.name, reason: "\(error)") }
        }
    }

    public func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder] {
        let function = try function(holding: uuid, at: parent)
        return try files.holders(of: [function])[function.name] ?? []
    }
}

/// What went wrong with a vendor-specific write, beyond the errno of the write itself.
public enum VendorVGPUError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadableCurrentType(function: String, text: String)
    case alreadyConfigured(function: String, number: Int)
    case notApplied(function: String, wrote: Int, reads: Int)
    case notRecorded(function: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableCurrentType(let function, let text):
            return "nvidia/current_vgpu_type of \(function) reads \(text.quoted), not a type number"
        case .alreadyConfigured(let function, let number):
            return "\(function) was given type \(number) by someone else meanwhile; it is left as it is"
        case .notApplied(let function, let wrote, let reads):
            return "wrote \(wrote) to nvidia/current_vgpu_type of \(function), but it reads \(reads)"
        case .notRecorded(let function, let reason):
            return "\(function) was configured, but \(reason); it will be taken for another program's"
        }
    }
}
