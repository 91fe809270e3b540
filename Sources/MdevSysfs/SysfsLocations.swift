import Foundation
import MdevModel

/// Where in sysfs each discovered thing lives: the only source of paths this program writes to.
public struct SysfsLocations: Sendable, Hashable {
    /// Where one parent's parts live.
    public struct ParentLocation: Sendable, Hashable {
        /// The parent's resolved device directory.
        public var directory: String
        /// Directory of each type, `<parent>/mdev_supported_types/<type>`, by type id.
        public var types: [String: String] = [:]
        /// Directory of each device, `<parent>/<uuid>`.
        public var devices: [UUID: String] = [:]
    }

    /// Each discovered parent's locations, by parent name.
    public var parents: [String: ParentLocation] = [:]

    public init() {}

    /// The directory of `type` on `parent`, if discovered.
    public func typeDirectory(_ type: String, on parent: String) -> String? {
        parents[parent]?.types[type]
    }

    /// The directory of a device, if discovered.
    public func deviceDirectory(_ uuid: UUID) -> String? {
        parents.values.lazy.compactMap { $0.devices[uuid] }.first
    }
}

/// One reading of the host, or of some of its parents: the inventory, where each part lives, and what
/// could not be read.
public struct InventoryReading: Sendable {
    /// The parents read (for a partial reading, only those asked for that still exist).
    public var inventory: Inventory
    public var locations: SysfsLocations
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
        inventory: Inventory, locations: SysfsLocations = .init(), gone: Set<String> = [], warnings: [String] = [],
        uninspectableProcesses: [Int32] = []
    ) {
        self.inventory = inventory
        self.locations = locations
        self.gone = gone
        self.warnings = warnings
        self.uninspectableProcesses = uninspectableProcesses
    }
}

extension InventoryReading {
    /// The inventory after this reading, given what was known before. A full reading replaces everything;
    /// a partial one replaces the parents it read and drops those gone. Either way, a known parent that
    /// could not be read whole keeps what was known of it, so a passing read error never looks like a card
    /// gone (the planner would give the other cards its types), but carries why it was not read whole, so
    /// nothing is planned on it from that reading.
    public func applied(to known: Inventory, full: Bool) -> Inventory {
        let kept = Set(known.parents.map(\.name)).intersection(incomplete.keys)
        let read = inventory.parents.filter { !kept.contains($0.name) }
        let replaced = Set(read.map(\.name)).union(gone.subtracting(kept))
        var staying = known.parents.filter { full ? kept.contains($0.name) : !replaced.contains($0.name) }
        for index in staying.indices where kept.contains(staying[index].name) {
            staying[index].readProblem = incomplete[staying[index].name]
        }
        return Inventory(parents: staying + read)
    }
}
