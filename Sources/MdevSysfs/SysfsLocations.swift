import MdevModel
import Foundation

/// Where in sysfs each discovered thing lives: the only source of paths this program writes to.
public struct SysfsLocations: Sendable, Hashable {
    /// A type on a parent.
    public struct TypeKey: Sendable, Hashable {
        public var parent: String
        public var type: String
    }

    /// Resolved directory of each parent, by name.
    public var parents: [String: String] = [:]
    /// Directory of each type, `<parent>/mdev_supported_types/<type>`.
    public var types: [TypeKey: String] = [:]
    /// Resolved directory of each device.
    public var devices: [UUID: String] = [:]

    public init() {}
}

/// One reading of the host: the inventory, where each part lives, and what could not be read.
public struct InventoryReading: Sendable {
    public var inventory: Inventory
    public var locations: SysfsLocations
    /// Problems that left a parent or type out of the inventory (a parent left out is not touched).
    public var warnings: [String]
    /// Processes whose open files could not be inspected; while any exist, no device counts as free.
    public var uninspectableProcesses: [Int32]

    public init(inventory: Inventory, locations: SysfsLocations = .init(), warnings: [String] = [], uninspectableProcesses: [Int32] = []) {
        self.inventory = inventory
        self.locations = locations
        self.warnings = warnings
        self.uninspectableProcesses = uninspectableProcesses
    }
}
