import FoundationEssentials

/// What a host offers and holds: every mdev parent with its types and its devices, as read at one moment.
///
/// Pure data. The sysfs layer fills it from `/sys`; tests and the simulated kernel build it directly.
public struct Inventory: Sendable, Hashable, Codable {
    /// Parents, sorted by name.
    public var parents: [Parent]

    public init(parents: [Parent]) {
        self.parents = parents.sorted { $0.name < $1.name }
    }

    /// The parent with this name, if the host has it.
    public func parent(named name: String) -> Parent? {
        parents.first { $0.name == name }
    }

    /// Every device on the host.
    public var devices: [MdevDevice] { parents.flatMap(\.devices) }

    /// The inventory without the MIG-backed types of GPUs whose MIG mode is off: what can be planned when
    /// this program does not turn MIG mode on and create GPU instances itself (`mdevReconciler.manageMIG`).
    public func withoutTypesNeedingMIGMode() -> Inventory {
        guard parents.contains(where: { $0.migEnabled == false }) else { return self }
        return Inventory(parents: parents.map { parent in
            guard parent.migEnabled == false else { return parent }
            var parent = parent
            parent.types.removeAll { $0.gpuInstanceProfile != nil }
            return parent
        })
    }
}

/// A device that can host mediated devices: an entry of `/sys/class/mdev_bus`.
public struct Parent: Sendable, Hashable, Codable {
    /// The entry's name under `class/mdev_bus` (`0000:3b:00.0`, `mtty`, `0.0.26ab`).
    public var name: String
    /// The unit that gets one type. For a classic mdev parent it is the parent itself; backends whose
    /// physical device exposes several parents (SR-IOV virtual functions) group them under one card.
    public var card: String
    /// The bound driver's name, when known (`nvidia`, `i915`, `mtty`).
    public var driver: String?
    /// PCI `vendor:device` ids for PCI parents (`10de:1eb8`).
    public var pciID: String?
    /// Supported types, sorted by id.
    public var types: [MdevType]
    /// Existing mediated devices, sorted by UUID.
    public var devices: [MdevDevice]
    /// The most devices this parent holds at once, when the backend knows it: 1 for an SR-IOV virtual
    /// function (NVIDIA's A-series and later in mdev mode), whose card's `max_instance` is the GPU's figure.
    public var instanceLimit: Int?
    /// How its devices are made: the mdev framework, or NVIDIA's vendor-specific `current_vgpu_type`.
    public var interface: ParentInterface
    /// Why the parent could not be read completely (a type's `available_instances` unreadable, say), or nil
    /// when it was read whole. Nothing is planned on such a parent: its devices stay as they are.
    public var readProblem: String?
    /// Whether its GPU's MIG mode is on; nil for a GPU without MIG (or where the driver's library does not say).
    public var migEnabled: Bool?

    public init(
        name: String, card: String? = nil, driver: String? = nil, pciID: String? = nil,
        types: [MdevType], devices: [MdevDevice] = [], instanceLimit: Int? = nil, interface: ParentInterface = .mdev,
        readProblem: String? = nil, migEnabled: Bool? = nil
    ) {
        self.name = name
        self.migEnabled = migEnabled
        self.readProblem = readProblem
        self.interface = interface
        self.card = card ?? name
        self.instanceLimit = instanceLimit
        self.driver = driver?.escapingControlCharacters
        self.pciID = pciID?.escapingControlCharacters
        self.types = types.sorted { $0.id < $1.id }
        self.devices = devices.sorted { $0.uuid.sysfsString < $1.uuid.sysfsString }
    }

    /// The type with this id, if supported.
    public func type(withID id: String) -> MdevType? {
        types.first { $0.id == id }
    }

    /// The set of supported type ids, which identifies the parent's model: parents with the same set are
    /// "the same kind of card" for balancing.
    public var modelKey: [String] { types.map(\.id) }

    /// A short human name for the model: the common prefix of the type names (`GRID T4`), else the driver.
    public var modelName: String? {
        let prefixes = Set(types.compactMap { $0.name.flatMap(Self.modelPrefix(ofTypeName:)) })
        if prefixes.count == 1 { return prefixes.first }
        return driver
    }

    /// `GRID T4-1B` → `GRID T4`; `NVIDIA A40-2Q` → `NVIDIA A40`.
    static func modelPrefix(ofTypeName name: String) -> String? {
        guard let dash = name.lastIndex(of: "-"), dash != name.startIndex else { return nil }
        let prefix = name[..<dash]
        // Names such as "A100-4-20C" carry two dashes: keep the part before the first profile dash.
        if let inner = prefix.lastIndex(of: "-"), prefix[prefix.index(after: inner)...].allSatisfy(\.isNumber) {
            return String(prefix[..<inner]).trimmingSpaces()
        }
        return String(prefix).trimmingSpaces()
    }
}

/// A mediated device type a parent supports: `mdev_supported_types/<id>/`.
public struct MdevType: Sendable, Hashable, Codable {
    /// The directory name (`nvidia-222`, `i915-GVTg_V5_4`, `mtty-1`).
    public var id: String
    /// The `name` file, trimmed, when present (`GRID T4-1B`); like every text read from the host, control
    /// characters escaped.
    public var name: String?
    /// The `available_instances` file as last read.
    public var availableInstances: Int
    /// The `device_api` file (`vfio-pci`), when present.
    public var deviceAPI: String?
    /// The `description` file, trimmed, when present.
    public var description: String?
    /// The most instances a card holds, when the backend knows it without a `description`: in NVIDIA's
    /// vendor-specific mode, what NVML states, else the GPU's framebuffer over the type's (see ``VGPUTypeListing``).
    public var capacity: Int?
    /// Where ``capacity`` comes from.
    public var capacitySource: CapacitySource?
    /// The MIG GPU-instance profile a device of the type needs (NVIDIA's MIG-backed vGPU types); nil for any
    /// other type.
    public var gpuInstanceProfile: Int?

    /// Where a type's ``capacity`` comes from.
    public enum CapacitySource: String, Sendable, Hashable, Codable {
        /// NVIDIA's NVML states it (`nvmlVgpuTypeGetMaxInstances`): exact.
        case nvml
        /// The GPU's framebuffer over the type's, as learnt from sysfs.
        case framebuffer
    }

    public init(
        id: String, name: String? = nil, availableInstances: Int, deviceAPI: String? = nil, description: String? = nil,
        capacity: Int? = nil, capacitySource: CapacitySource? = nil, gpuInstanceProfile: Int? = nil
    ) {
        self.id = id
        self.gpuInstanceProfile = gpuInstanceProfile
        self.capacity = capacity
        self.capacitySource = capacitySource
        // Text the kernel, a driver or NVML gave: printable as it is kept (README, "Security").
        self.name = name?.escapingControlCharacters
        self.availableInstances = availableInstances
        self.deviceAPI = deviceAPI?.escapingControlCharacters
        self.description = description?.escapingControlCharactersButLineFeeds
    }

    /// The name as a config entry may spell it: trimmed, every space replaced by `_` (`GRID_T4-1B`).
    public var configName: String? {
        name.map { $0.trimmingSpaces().replacingSpaces(with: "_") }
    }

    /// `description` parsed into key/value pairs.
    public var descriptionFields: TypeDescription { TypeDescription(parsing: description ?? "") }

    /// The most instances one parent (one card, for SR-IOV GPUs) can hold of this type, when known: NVIDIA's
    /// `max_instance` in `description`, else the backend's ``capacity``.
    public var maxInstances: Int? { descriptionFields.maxInstances ?? capacity }

    /// Whether a config entry names this type, by id or by name.
    public func isNamed(by reference: String) -> Bool {
        reference == id || reference == configName
    }
}

/// One mediated device: `/sys/bus/mdev/devices/<uuid>`.
public struct MdevDevice: Sendable, Hashable, Codable {
    public var uuid: UUID
    /// The id of its type.
    public var type: String
    /// Processes that hold the device open through VFIO; empty when the device is free.
    public var holders: [DeviceHolder]

    public init(uuid: UUID, type: String, holders: [DeviceHolder] = []) {
        self.uuid = uuid
        self.type = type
        self.holders = holders
    }

    /// Whether a process (a VM) is using it. Such a device is never removed.
    public var isInUse: Bool { !holders.isEmpty }
}

/// A process holding a device's VFIO group or VFIO device file open.
public struct DeviceHolder: Sendable, Hashable, Codable, CustomStringConvertible {
    public var pid: Int32
    /// The process's `comm` (`qemu-system-x86`).
    public var command: String

    /// - Parameter command: as read; kept with its control characters escaped (any process sets its own
    ///   `comm`, escape sequences included).
    public init(pid: Int32, command: String) {
        self.pid = pid
        self.command = command.escapingControlCharacters
    }

    public var description: String { "pid \(pid) (\(command))" }
}
