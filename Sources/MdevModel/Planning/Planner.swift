import FoundationEssentials

/// Everything a plan depends on. The plan is a pure function of it.
public struct PlanningInput: Sendable {
    public var inventory: Inventory
    public var wanted: WantedTypes
    public var hostKey: HostKey
    public var settings: ReconcilerSettings
    public var nodeName: String
    /// The layout of the last pass that converged; nil when none is known (none kept, lost or unreadable),
    /// which means "no change known": cards holding devices of ours keep their type.
    public var remembered: RememberedLayout?
    /// A rebalance is asked for (`apply --rebalance`, `mdev-reconciler rebalance`): the balanced layout,
    /// whatever is remembered.
    public var rebalance: Bool
    /// Plan removals even when no card supports any wanted type (`apply --allow-removal-of-all`).
    public var allowRemovalOfAll: Bool

    public init(
        inventory: Inventory, wanted: WantedTypes, hostKey: HostKey, settings: ReconcilerSettings, nodeName: String,
        remembered: RememberedLayout? = nil, rebalance: Bool = false, allowRemovalOfAll: Bool = false
    ) {
        self.inventory = inventory
        self.wanted = wanted
        self.hostKey = hostKey
        self.settings = settings
        self.nodeName = nodeName
        self.remembered = remembered
        self.rebalance = rebalance
        self.allowRemovalOfAll = allowRemovalOfAll
    }

    /// Whether the balanced layout is planned afresh: a rebalance asked for or always wanted, or a wanted
    /// list (whose digest is `wantedDigest`) other than the remembered layout's. Otherwise cards keep their
    /// types (``RememberedLayout``).
    func rebalances(wantedDigest: String) -> Bool {
        rebalance || settings.rebalance == .onHardwareChange || remembered.map { $0.wantedDigest != wantedDigest } ?? false
    }
}

/// Computes the plan: a target type per card (``CardTypeAssignment``), then per parent the devices to
/// keep, remove and create.
///
/// Rules for devices, per parent:
/// - devices of the target type stay (devices of another program are adopted);
/// - devices of another type are removed when this program created them and no process holds them;
///   in-use devices, and foreign ones unless `removeForeignDevices` is set, stay and block the parent;
/// - new devices fill the target type up to its capacity, with UUIDs derived from the host key, parent,
///   type and the lowest free slots.
public enum Planner {
    public static func plan(_ input: PlanningInput) -> Plan {
        var input = input
        // MIG-backed types are for GPUs with MIG mode on, unless this program turns it on (``ReconcilerSettings/manageMIG``).
        if !input.settings.manageMIG { input.inventory = input.inventory.withoutTypesNeedingMIGMode() }
        let cards = Card.cards(of: input.inventory)
        // Parent names are unique in a reading; should two ever share one, the first wins rather than a trap.
        let ownership = Dictionary(
            input.inventory.parents.map { ($0.name, DeviceOwnership(parent: $0, hostKey: input.hostKey)) }, uniquingKeysWith: { first, _ in first })
        let removable = { (parent: Parent, device: MdevDevice) in
            !device.isInUse && (input.settings.removeForeignDevices || ownership[parent.name]!.isOurs(device))
        }
        let hasOurs = input.inventory.parents.contains { parent in parent.devices.contains { ownership[parent.name]!.isOurs($0) } }
        let types = input.wanted.types
        func parentPlans(_ targets: [String?]) -> [ParentPlan] {
            var parents: [ParentPlan] = []
            for (card, target) in zip(cards, targets) {
                // The functions of one GPU share its model: its name is worked out once per card.
                let model = card.parents.first?.modelName
                var cardPlans = card.parents.map { parent in
                    fill(parent, model: model, with: target.flatMap { parent.type(matching: $0) }, ownership: ownership[parent.name]!,
                         removable: removable, hostKey: input.hostKey)
                }
                if let target, card.parents.count > 1 { limitToCard(&cardPlans, card: card, reference: target) }
                parents += cardPlans
            }
            return parents.sorted { $0.parent < $1.parent }
        }
        let untouchedPlan = { (held: HeldTypes?) in
            var plan = Plan(node: input.nodeName, wanted: input.wanted, parents: cards.flatMap { card in
                card.parents.map { untouched($0, model: card.parents.first?.modelName) }
            }.sorted { $0.parent < $1.parent })
            plan.held = held
            plan.remembered = input.remembered
            return plan
        }
        guard input.wanted.isManaging else { return untouchedPlan(nil) }
        // A list naming only types no card here has is a likely typo: it never empties a host by itself.
        if !types.isEmpty, hasOurs, !input.allowRemovalOfAll, !types.contains(where: { type in cards.contains { $0.supports(type) } }) {
            return untouchedPlan(HeldTypes(types: types))
        }
        let keep = { (index: Int, reference: String) in
            var keep = CardTypeAssignment.Keep()
            for parent in cards[index].parents {
                guard let type = parent.type(matching: reference) else { continue }
                for device in parent.devices where device.type == type.id {
                    keep.devices += 1
                    if !removable(parent, device) { keep.immovable += 1 }
                }
            }
            return keep
        }
        let balanced = CardTypeAssignment.assign(cards: cards, types: types, keep: keep)
        var targets = balanced
        let present = Set(cards.map(\.name))
        let digest = RememberedLayout.digest(of: input.wanted)
        let rebalances = input.rebalances(wantedDigest: digest)
        // What the layout leaves to remember: every present card's type, and, while it is kept, the types of
        // cards that went away.
        var remembered = input.remembered.flatMap { rebalances ? nil : $0.cards.filter { !present.contains($0.key) } } ?? [:]
        // With nothing pinned (a host with no devices of ours and no card remembered) the kept layout is the
        // balanced one: the same assignment, not made twice.
        if !rebalances, hasOurs || input.remembered != nil, case let pinned = pins(cards, input, ownership: ownership), !pinned.isEmpty {
            targets = CardTypeAssignment.assign(cards: cards, types: types, pinned: pinned, keep: keep)
        }
        for (card, target) in zip(cards, targets) where target != nil { remembered[card.name] = target }
        var plan = Plan(node: input.nodeName, wanted: input.wanted, parents: parentPlans(targets))
        plan.remembered = RememberedLayout(wantedDigest: digest, cards: remembered)
        if targets != balanced {
            let rebalanced = parentPlans(balanced)
            plan.unserved = unserved(types: types, kept: targets, balanced: balanced, gone: remembered.filter { !present.contains($0.key) })
            // Both layouts give a type to the same cards (those of a model some wanted type fits).
            plan.rebalanceMoves = zip(cards, zip(targets, balanced)).compactMap { card, pair in
                guard pair.0 != pair.1, let from = pair.0, let to = pair.1 else { return nil }
                let removing = rebalanced.filter { $0.card == card.name }.reduce(0) { $0 + $1.remove.count }
                return CardMove(card: card.name, from: from, to: to, removing: removing)
            }
        }
        return plan
    }

    /// The cards whose type stays while the layout is kept. A card holding devices of ours of a wanted type
    /// keeps the one it holds most devices of (the first in the list among equals): what it serves now, whatever
    /// a record says. A card holding none (back after going away, or after a driver reload) gets the type the
    /// remembered layout names for it, if the card has it. Cards with neither share out what is left.
    static func pins(_ cards: [Card], _ input: PlanningInput, ownership: [String: DeviceOwnership]) -> [Int: String] {
        var pins: [Int: String] = [:]
        for (index, card) in cards.enumerated() {
            var best: (type: String, count: Int)?
            for type in input.wanted.types {
                let count = card.parents.reduce(0) { sum, parent in
                    guard let id = parent.type(matching: type)?.id else { return sum }
                    return sum + parent.devices.filter { $0.type == id && ownership[parent.name]!.isOurs($0) }.count
                }
                if count > (best?.count ?? 0) { best = (type, count) }
            }
            if let best {
                pins[index] = best.type
            } else if let type = input.remembered?.cards[card.name], input.wanted.types.contains(type), card.supports(type) {
                pins[index] = type
            }
        }
        return pins
    }

    /// The wanted types the kept layout gives fewer cards than the balanced one, in list order.
    static func unserved(types: [String], kept: [String?], balanced: [String?], gone: [String: String]) -> [UnservedType] {
        types.compactMap { type in
            let wanted = balanced.filter { $0 == type }.count
            let served = kept.filter { $0 == type }.count
            guard served < wanted else { return nil }
            return UnservedType(type: type, wantedCards: wanted, servedCards: served, goneCards: gone.filter { $0.value == type }.keys.sorted())
        }
    }

    private static func fill(
        _ parent: Parent, model: String?, with type: MdevType?, ownership: DeviceOwnership,
        removable: (Parent, MdevDevice) -> Bool, hostKey: HostKey
    ) -> ParentPlan {
        var plan = untouched(parent, model: model)
        plan.type = type?.id
        // A parent not read completely is planned from no reading: its devices stay, nothing is created.
        if let problem = parent.readProblem {
            plan.readProblem = problem
            return plan
        }
        plan.keep = []
        for device in parent.devices {
            let planned = PlannedDevice(uuid: device.uuid, type: device.type)
            if device.type == type?.id {
                plan.keep.append(planned)
            } else if removable(parent, device) {
                plan.remove.append(planned)
            } else {
                plan.keep.append(planned)
                // A device on a parent with no target blocks nothing.
                if type != nil {
                    plan.blockers.append(Blocker(
                        device: planned, kind: device.isInUse ? .inUse : .foreign, holders: device.holders, interface: parent.interface))
                }
            }
        }
        guard let type else { return plan }
        let count = creatableInstances(of: type, on: parent, plan: plan)
        let usedSlots = Set(parent.devices.filter { $0.type == type.id }.compactMap { ownership.slotOf[$0.uuid] })
        var slot = 0
        // A slot is 16 bits of the derived UUID: a driver claiming more room than that gets what slots address.
        while plan.create.count < count && slot < HostKey.slotCount {
            if !usedSlots.contains(slot) {
                plan.create.append(PlannedDevice(uuid: hostKey.deviceUUID(parent: parent.name, type: type.id, slot: slot), type: type.id))
            }
            slot += 1
        }
        return plan
    }

    /// On a card of several parents (an SR-IOV GPU's virtual functions), the type's `max_instance` is the
    /// whole card's figure: creations go to the parents in name order until the card holds that many.
    /// So a GPU is filled as far as its type allows, and never planned past it.
    static func limitToCard(_ plans: inout [ParentPlan], card: Card, reference: String) {
        guard let maximum = card.parents.lazy.compactMap({ $0.type(matching: reference)?.maxInstances }).first else { return }
        var room = maximum - plans.reduce(0) { sum, plan in sum + plan.keep.filter { $0.type == plan.type }.count }
        for index in plans.indices {
            let allowed = max(0, min(plans[index].create.count, room))
            plans[index].create = Array(plans[index].create.prefix(allowed))
            room -= allowed
        }
    }

    /// How many devices of `type` the parent can take once the plan's removals are done.
    ///
    /// `available_instances` counts what is free now. When the plan frees the parent of every other type
    /// and the driver states `max_instance` (NVIDIA, whose types exclude each other), the room after the
    /// removals is `max_instance` minus the devices of the type. Otherwise only what is free now is
    /// counted; applying re-reads the capacity after removing and tops up in a further round.
    static func creatableInstances(of type: MdevType, on parent: Parent, plan: ParentPlan) -> Int {
        let now = type.availableInstances
        let ofType = parent.devices.filter { $0.type == type.id }.count
        var room = now
        if !plan.remove.isEmpty, plan.blockers.isEmpty, let maximum = type.maxInstances { room = max(now, maximum - ofType) }
        // A parent that holds a fixed number of devices (a virtual function) holds no more, whatever the type says.
        if let limit = parent.instanceLimit { room = min(room, max(0, limit - (plan.keep.count))) }
        return room
    }

    private static func untouched(_ parent: Parent, model: String?) -> ParentPlan {
        let devices = parent.devices.map { PlannedDevice(uuid: $0.uuid, type: $0.type) }
        return ParentPlan(
            parent: parent.name, card: parent.card, model: model,
            current: Set(parent.devices.map(\.type)).sorted(), type: nil,
            keep: devices, create: [], remove: [], blockers: [], interface: parent.interface)
    }
}
