import FoundationEssentials
import MdevModel

/// A host with both interfaces: mdev parents (``SysfsHost``, or a simulated kernel) and NVIDIA virtual
/// functions in vendor-specific mode (``VendorVGPUBackend``). Readings are merged; each write goes to the
/// backend its location names.
public struct CombinedHost: InventorySource, MdevDeviceControl {
    public let mdev: any InventorySource & MdevDeviceControl
    public let vendor: VendorVGPUBackend

    public init(mdev: any InventorySource & MdevDeviceControl, vendor: VendorVGPUBackend) {
        self.mdev = mdev
        self.vendor = vendor
    }

    public func readInventory() throws -> InventoryReading {
        Self.merge(try mdev.readInventory(), try vendor.readInventory())
    }

    public func readParents(_ names: Set<String>) throws -> InventoryReading {
        Self.merge(try mdev.readParents(names), try vendor.readParents(names))
    }

    /// One reading of both: a name is gone when neither interface has it (nor could read it); an mdev parent
    /// wins over a function of the same name.
    static func merge(_ mdev: InventoryReading, _ vendor: InventoryReading) -> InventoryReading {
        let mdevNames = Set(mdev.inventory.parents.map(\.name))
        let functions = vendor.inventory.parents.filter { !mdevNames.contains($0.name) }
        var merged = InventoryReading(
            inventory: Inventory(parents: mdev.inventory.parents + functions),
            locations: mdev.locations.merging(vendor.locations.filter { !mdevNames.contains($0.key) }) { mdev, _ in mdev },
            gone: mdev.gone.intersection(vendor.gone),
            warnings: mdev.warnings + vendor.warnings,
            uninspectableProcesses: Array(Set(mdev.uninspectableProcesses + vendor.uninspectableProcesses)).sorted())
        merged.incomplete = mdev.incomplete.merging(vendor.incomplete) { mdev, _ in mdev }
        merged.gone.subtract(merged.incomplete.keys)
        merged.gone.subtract(merged.inventory.parents.map(\.name))
        return merged
    }

    public func availableInstances(of type: String, at parent: ParentLocation) throws -> Int {
        try backend(for: parent).availableInstances(of: type, at: parent)
    }

    public func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws {
        try backend(for: parent).create(uuid, type: type, at: parent)
    }

    public func remove(_ uuid: UUID, at parent: ParentLocation) throws {
        try backend(for: parent).remove(uuid, at: parent)
    }

    public func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder] {
        try backend(for: parent).holders(of: uuid, at: parent)
    }

    private func backend(for parent: ParentLocation) -> any MdevDeviceControl {
        switch parent {
        case .mdev: mdev
        case .vendorFunction: vendor
        }
    }
}
