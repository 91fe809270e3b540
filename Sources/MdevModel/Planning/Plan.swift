import FoundationEssentials

/// What the host should change: per parent, the target type and the devices to create and remove.
public struct Plan: Sendable, Hashable, Encodable {
    /// The node name the plan was made for.
    public var node: String
    /// The wanted types and where they came from.
    public var wanted: WantedTypes
    /// One entry per parent, sorted by parent name.
    public var parents: [ParentPlan]
    /// Wanted types the kept layout serves on fewer cards than a rebalance would (a card went away).
    public var unserved: [UnservedType] = []
    /// What a rebalance would change, card by card; empty when the layout is the balanced one.
    public var rebalanceMoves: [CardMove] = []
    /// Set when the wanted list names only types no card has: nothing is changed (``HeldTypes``).
    public var held: HeldTypes?
    /// The layout to remember once the host matches this plan; nil when the plan keeps what was remembered.
    public var remembered: RememberedLayout?

    public init(node: String, wanted: WantedTypes, parents: [ParentPlan]) {
        self.node = node
        self.wanted = wanted
        self.parents = parents
    }

    enum CodingKeys: String, CodingKey { case node, wanted, parents, unserved, rebalance, held }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(node, forKey: .node)
        try container.encode(wanted, forKey: .wanted)
        try container.encode(parents, forKey: .parents)
        try container.encode(unserved.map(WithMessage.init), forKey: .unserved)
        try container.encode(rebalanceMoves.map(WithMessage.init), forKey: .rebalance)
        try container.encodeIfPresent(held.map(WithMessage.init), forKey: .held)
    }

    /// Whether executing the plan would write anything.
    public var hasChanges: Bool { parents.contains(where: \.hasChanges) }
    /// Parents that cannot reach their target right now.
    public var blockedParents: [ParentPlan] { parents.filter(\.isBlocked) }
}

/// The plan for one parent.
public struct ParentPlan: Sendable, Hashable, Encodable {
    /// The parent's name under `class/mdev_bus`.
    public var parent: String
    /// The card (physical device) the parent belongs to; the parent itself for classic mdev parents.
    public var card: String
    /// A short model name for people (`GRID T4`).
    public var model: String?
    /// The distinct types of the devices it has now.
    public var current: [String]
    /// The target type id, or nil when no wanted type is supported (or management is disabled).
    public var type: String?
    /// Devices that stay: of the target type, or blocked.
    public var keep: [PlannedDevice]
    public var create: [PlannedDevice]
    public var remove: [PlannedDevice]
    /// Devices that keep this parent from reaching its target.
    public var blockers: [Blocker]
    /// How its devices are made; in NVIDIA's vendor-specific mode a device is the function's vGPU, and its
    /// UUID only a handle (the function has no UUID in sysfs).
    public var interface: ParentInterface
    /// Why nothing is planned on the parent although it has a target: it could not be read completely.
    public var readProblem: String?

    public init(
        parent: String, card: String, model: String?, current: [String], type: String?, keep: [PlannedDevice],
        create: [PlannedDevice], remove: [PlannedDevice], blockers: [Blocker], interface: ParentInterface = .mdev
    ) {
        self.parent = parent
        self.interface = interface
        self.card = card
        self.model = model
        self.current = current
        self.type = type
        self.keep = keep
        self.create = create
        self.remove = remove
        self.blockers = blockers
    }

    public var hasChanges: Bool { !create.isEmpty || !remove.isEmpty }

    /// Whether something keeps the parent from reaching its target: devices, or a reading that was not whole.
    public var isBlocked: Bool { !blockers.isEmpty || readProblem != nil }

    /// One line saying why the parent is blocked, or nil when it is not.
    public var reason: String? {
        let reasons = (readProblem.map { ["not read completely, so left as it is: \($0)"] } ?? []) + blockers.map(\.message)
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey {
        case parent, card, model, interface, current, type, keep, create, remove, blockers, reason
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(parent, forKey: .parent)
        try container.encode(card, forKey: .card)
        try container.encode(model, forKey: .model)
        try container.encode(interface, forKey: .interface)
        try container.encode(current, forKey: .current)
        try container.encode(type, forKey: .type)
        try container.encode(keep, forKey: .keep)
        try container.encode(create, forKey: .create)
        try container.encode(remove, forKey: .remove)
        if !blockers.isEmpty { try container.encode(blockers, forKey: .blockers) }
        if isBlocked { try container.encode(reason, forKey: .reason) }
    }
}

/// A device named in a plan.
public struct PlannedDevice: Sendable, Hashable, Codable {
    public var uuid: UUID
    public var type: String

    public init(uuid: UUID, type: String) {
        self.uuid = uuid
        self.type = type
    }

    enum CodingKeys: String, CodingKey { case uuid, type }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(uuid.sysfsString, forKey: .uuid)
        try container.encode(type, forKey: .type)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .uuid)
        guard let uuid = UUID(uuidString: text) else {
            throw DecodingError.dataCorruptedError(forKey: .uuid, in: container, debugDescription: "not a UUID: \(text)")
        }
        self.uuid = uuid
        type = try container.decode(String.self, forKey: .type)
    }
}

/// A device that stays although the parent's target is another type.
public struct Blocker: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Encodable {
        /// A process (a VM) holds it.
        case inUse = "in-use"
        /// This program did not create it, and removing foreign devices is off.
        case foreign
    }

    public var device: PlannedDevice
    public var kind: Kind
    public var holders: [DeviceHolder]
    /// The interface of the device's parent, which decides how the device is named.
    public var interface: ParentInterface

    public init(device: PlannedDevice, kind: Kind, holders: [DeviceHolder], interface: ParentInterface = .mdev) {
        self.device = device
        self.kind = kind
        self.holders = holders
        self.interface = interface
    }

    public var message: String {
        let vendor = interface == .nvidiaVendorSpecific
        let name = vendor ? interface.name(of: device) : "device " + interface.name(of: device)
        switch kind {
        case .inUse:
            return "\(name) is in use by " + holders.map(\.description).joined(separator: ", ")
        case .foreign:
            return "\(name) was not \(vendor ? "configured" : "created") by mdev-reconciler "
                + "(set mdevReconciler.removeForeignDevices to let it be removed)"
        }
    }

    enum CodingKeys: String, CodingKey { case uuid, type, kind, holders, message }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device.uuid.sysfsString, forKey: .uuid)
        try container.encode(device.type, forKey: .type)
        try container.encode(kind, forKey: .kind)
        try container.encode(holders, forKey: .holders)
        try container.encode(message, forKey: .message)
    }
}
