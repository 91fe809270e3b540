import MdevModel

/// One reading of the host, or of some of its parents: an immutable value with the inventory, where each
/// parent read lives, and what could not be read.
public struct InventoryReading: Sendable {
    /// The parents read (for a partial reading, only those asked for that still exist).
    public var inventory: Inventory
    /// Where each parent read lives, by name.
    public var locations: [String: ParentLocation]
    /// Parents asked for that are no longer on the host (a partial reading only).
    public var gone: Set<String>
    /// Problems that left a parent or type out of the inventory (a parent left out is not touched).
    public var warnings: [String]
    /// Processes whose open files could not be inspected; while any exist, no device counts as free.
    public var uninspectableProcesses: [Int32]
    /// Parents that exist but could not be read whole (left out, or read without some type's count), with
    /// why: a caller that knew them keeps what it knew, so a passing read error never looks like a card
    /// gone, and plans nothing on them until they read whole again.
    public var incomplete: [String: String] = [:]

    public init(
        inventory: Inventory, locations: [String: ParentLocation] = [:], gone: Set<String> = [], warnings: [String] = [],
        uninspectableProcesses: [Int32] = []
    ) {
        self.inventory = inventory
        self.locations = locations
        self.gone = gone
        self.warnings = warnings
        self.uninspectableProcesses = uninspectableProcesses
    }

    /// What this reading alone says of the host.
    public var snapshot: HostSnapshot { HostSnapshot(inventory: inventory, locations: locations) }

    /// What is known after this reading, given what was known before: the one merge rule of readings.
    ///
    /// A full reading replaces everything; a partial one replaces the parents it read and drops those gone.
    /// Either way, a known parent that could not be read whole keeps what was known of it (and where it
    /// lives), so a passing read error never looks like a card gone (the planner would give the other cards
    /// its types), but carries why it was not read whole, so nothing is planned on it from that reading.
    public func applied(to known: HostSnapshot, full: Bool) -> HostSnapshot {
        let kept = Set(known.inventory.parents.map(\.name)).intersection(incomplete.keys)
        let read = inventory.parents.filter { !kept.contains($0.name) }
        let replaced = Set(read.map(\.name)).union(gone.subtracting(kept))
        let stays = { (name: String) in full ? kept.contains(name) : !replaced.contains(name) }
        var staying = known.inventory.parents.filter { stays($0.name) }
        for index in staying.indices where kept.contains(staying[index].name) {
            staying[index].readProblem = incomplete[staying[index].name]
        }
        var locations = known.locations.filter { stays($0.key) }
        for parent in read { locations[parent.name] = self.locations[parent.name] }
        return HostSnapshot(inventory: Inventory(parents: staying + read), locations: locations)
    }
}

/// What is known of the host at one moment: the inventory, and where each of its parents lives.
public struct HostSnapshot: Sendable {
    public var inventory: Inventory
    /// By parent name; every parent of the inventory has one.
    public var locations: [String: ParentLocation]

    public init(inventory: Inventory, locations: [String: ParentLocation]) {
        self.inventory = inventory
        self.locations = locations
    }

    /// Nothing known yet.
    public static let empty = HostSnapshot(inventory: Inventory(parents: []), locations: [:])
}
