import Foundation
import MdevModel

/// A host with both interfaces: mdev parents (``SysfsHost``, or a simulated kernel) and NVIDIA virtual
/// functions in vendor-specific mode (``VendorVGPUBackend``). Readings are merged; each write goes to the
/// backend that discovered its parent or device.
public final class CombinedHost: InventorySource, MdevDeviceControl {
    public let mdev: any InventorySource & MdevDeviceControl
    public let vendor: VendorVGPUBackend

    public init(mdev: any InventorySource & MdevDeviceControl, vendor: VendorVGPUBackend) {
        self.mdev = mdev
        self.vendor = vendor
    }

    public func readInventory() throws -> InventoryReading {
        merge(try mdev.readInventory(), try vendor.readInventory())
    }

    public func readParents(_ names: Set<String>) throws -> InventoryReading {
        merge(try mdev.readParents(names), try vendor.readParents(names))
    }

    private func merge(_ first: InventoryReading, _ second: InventoryReading) -> InventoryReading {
        let vendorNames = Set(second.inventory.parents.map(\.name))
        // A name is gone when neither interface has it; an mdev parent wins over a function of the same name.
        let parents = first.inventory.parents + second.inventory.parents.filter { vendor in
            !first.inventory.parents.contains { $0.name == vendor.name }
        }
        var merged = InventoryReading(
            inventory: Inventory(parents: parents), locations: first.locations,
            gone: first.gone.intersection(second.gone).subtracting(vendorNames).subtracting(first.incomplete.keys).subtracting(second.incomplete.keys),
            warnings: first.warnings + second.warnings,
            uninspectableProcesses: Array(Set(first.uninspectableProcesses + second.uninspectableProcesses)).sorted())
        merged.incomplete = first.incomplete.merging(second.incomplete) { mdev, _ in mdev }
        return merged
    }

    public func availableInstances(of type: String, on parent: String) throws -> Int {
        try backend(forParent: parent).availableInstances(of: type, on: parent)
    }

    public func create(_ uuid: UUID, type: String, on parent: String) throws {
        try backend(forParent: parent).create(uuid, type: type, on: parent)
    }

    public func remove(_ uuid: UUID) throws {
        try (vendor.knows(device: uuid) ? vendor : mdev).remove(uuid)
    }

    public func holders(of uuid: UUID) throws -> [DeviceHolder] {
        try (vendor.knows(device: uuid) ? vendor : mdev).holders(of: uuid)
    }

    private func backend(forParent parent: String) -> any MdevDeviceControl {
        vendor.knows(function: parent) ? vendor : mdev
    }
}
