import FoundationEssentials
import MdevModel

/// Reads the host: the real sysfs, or a simulated kernel in tests.
public protocol InventorySource: Sendable {
    /// Reads every parent.
    func readInventory() throws -> InventoryReading
    /// Reads only the named parents (those an event touched); names that are not, or no longer,
    /// parents are reported in ``InventoryReading/gone``.
    func readParents(_ names: Set<String>) throws -> InventoryReading
}

/// The writes and live reads that executing a plan needs: the real sysfs, or a simulated kernel in tests.
///
/// Each is addressed by a parent's ``ParentLocation`` from a reading, and names a type or device that reading
/// discovered there; an implementation refuses any other (``NotDiscoveredError``).
public protocol MdevDeviceControl: Sendable {
    /// `available_instances` of `type` on the parent, read now.
    func availableInstances(of type: String, at parent: ParentLocation) throws -> Int
    /// Writes `uuid` to the type's `create` (in vendor-specific mode: configures the function as `type`).
    func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws
    /// Writes `1` to the device's `remove` (in vendor-specific mode: clears the function). Callers check
    /// ``holders(of:at:)`` first: removing a held device blocks.
    func remove(_ uuid: UUID, at parent: ParentLocation) throws
    /// The processes holding the device now.
    func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder]
}

/// A name the control was asked to use that the reading it was given did not discover.
public struct NotDiscoveredError: Error, Sendable, CustomStringConvertible {
    public var what: String

    public init(_ what: String) { self.what = what }

    public var description: String { "\(what) was not discovered in sysfs" }
}
