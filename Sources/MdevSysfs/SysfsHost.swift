import FoundationEssentials
import MdevModel

/// The real host: reads sysfs and procfs, and writes only to paths a reading discovered (the locations it
/// is given). It keeps no state between a reading and a write.
public struct SysfsHost: InventorySource, MdevDeviceControl {
    public let reader: SysfsInventoryReader

    public init(reader: SysfsInventoryReader) {
        self.reader = reader
    }

    public func readInventory() throws -> InventoryReading {
        try reader.read()
    }

    public func readParents(_ names: Set<String>) throws -> InventoryReading {
        try reader.read(parents: names)
    }

    public func availableInstances(of type: String, at parent: ParentLocation) throws -> Int {
        try reader.availableInstances(at: try Self.typeDirectory(type, at: parent))
    }

    public func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws {
        try FileSystem.write(uuid.sysfsString, to: try Self.typeDirectory(type, at: parent).appending("create"), inside: reader.root)
    }

    public func remove(_ uuid: UUID, at parent: ParentLocation) throws {
        try FileSystem.write("1", to: try Self.deviceDirectory(uuid, at: parent).appending("remove"), inside: reader.root)
    }

    public func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder] {
        let vfio = reader.vfioFiles(ofDeviceAt: try Self.deviceDirectory(uuid, at: parent))
        return try reader.holderScanner.scan().holders(group: vfio.group, cdevs: vfio.cdevs)
    }

    private static func typeDirectory(_ type: String, at parent: ParentLocation) throws(NotDiscoveredError) -> String {
        guard case .mdev(let location) = parent, let directory = location.types[type] else {
            throw NotDiscoveredError("type \(type) of parent \(parent.name)")
        }
        return directory
    }

    private static func deviceDirectory(_ uuid: UUID, at parent: ParentLocation) throws(NotDiscoveredError) -> String {
        guard case .mdev(let location) = parent, let directory = location.devices[uuid] else {
            throw NotDiscoveredError("device \(uuid.sysfsString) of parent \(parent.name)")
        }
        return directory
    }
}
