import Foundation
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
/// Parents, types and devices are named as the last ``InventorySource/readInventory()`` discovered them;
/// an implementation refuses a name it has not discovered.
public protocol MdevDeviceControl: Sendable {
    /// `available_instances` of `type` on `parent`, read now.
    func availableInstances(of type: String, on parent: String) throws -> Int
    /// Writes `uuid` to the type's `create`.
    func create(_ uuid: UUID, type: String, on parent: String) throws
    /// Writes `1` to the device's `remove`. Callers check ``holders(of:)`` first: removing a held device blocks.
    func remove(_ uuid: UUID) throws
    /// The processes holding the device now.
    func holders(of uuid: UUID) throws -> [DeviceHolder]
}

/// A name the control was asked to use that the last inventory did not discover.
public struct NotDiscoveredError: Error, Sendable, CustomStringConvertible {
    public var what: String

    public init(_ what: String) { self.what = what }

    public var description: String { "\(what) was not discovered in sysfs" }
}
