import Foundation
import MdevModel
import Synchronization

/// The real host: reads sysfs and procfs, and writes only to paths the last reading discovered.
public final class SysfsHost: InventorySource, MdevDeviceControl {
    public let reader: SysfsInventoryReader
    private let locations = Mutex(SysfsLocations())

    public init(reader: SysfsInventoryReader) {
        self.reader = reader
    }

    public func readInventory() throws -> InventoryReading {
        let reading = try reader.read()
        locations.withLock { $0 = reading.locations }
        return reading
    }

    public func readParents(_ names: Set<String>) throws -> InventoryReading {
        let reading = try reader.read(parents: names)
        locations.withLock { locations in
            for name in names { locations.parents[name] = reading.locations.parents[name] }
        }
        return reading
    }

    public func availableInstances(of type: String, on parent: String) throws -> Int {
        try SysfsInventoryReader.availableInstances(at: try typeDirectory(type, on: parent))
    }

    public func create(_ uuid: UUID, type: String, on parent: String) throws {
        try FileSystem.write(uuid.sysfsString, to: try typeDirectory(type, on: parent).appending("create"), inside: reader.sysfsRoot)
    }

    public func remove(_ uuid: UUID) throws {
        try FileSystem.write("1", to: try deviceDirectory(uuid).appending("remove"), inside: reader.sysfsRoot)
    }

    public func holders(of uuid: UUID) throws -> [DeviceHolder] {
        let directory = try deviceDirectory(uuid)
        let vfio = SysfsInventoryReader.vfioFiles(ofDeviceAt: directory)
        return try reader.holderScanner.scan().holders(group: vfio.group, cdevs: vfio.cdevs)
    }

    private func typeDirectory(_ type: String, on parent: String) throws(NotDiscoveredError) -> String {
        guard let directory = locations.withLock({ $0.typeDirectory(type, on: parent) }) else {
            throw NotDiscoveredError("type \(type) of parent \(parent)")
        }
        return directory
    }

    private func deviceDirectory(_ uuid: UUID) throws(NotDiscoveredError) -> String {
        guard let directory = locations.withLock({ $0.deviceDirectory(uuid) }) else {
            throw NotDiscoveredError("device \(uuid.sysfsString)")
        }
        return directory
    }
}
