import FoundationEssentials
import MdevModel

/// Reads the host's parents, types and devices from sysfs, and who holds each device from procfs.
///
/// Layout read (Documentation/driver-api/vfio-mediated-device.rst):
/// - `class/mdev_bus/<parent>`: a link to the parent's device directory;
/// - `<parent>/mdev_supported_types/<type>/{available_instances,device_api,name,description}`;
/// - `<parent>/<uuid>/`: a device, with `mdev_type` (link to its type), `iommu_group` (link) and, with
///   iommufd, `vfio-dev/vfioN`.
public struct SysfsInventoryReader: Sendable {
    /// The directory that plays `/sys`, inside which every file is read (``ConfinedRoot``).
    public let root: ConfinedRoot
    public let holderScanner: VFIOHolderScanner

    public init(sysfsRoot: String = "/sys", holderScanner: VFIOHolderScanner = VFIOHolderScanner()) {
        root = ConfinedRoot(sysfsRoot)
        self.holderScanner = holderScanner
    }

    /// The directory that plays `/sys`.
    public var sysfsRoot: String { root.path }

    /// Reads every parent.
    /// - Throws: ``SysfsError`` when the sysfs root or proc root cannot be read at all. A parent that cannot
    ///   be read is left out with a warning instead.
    public func read() throws(SysfsError) -> InventoryReading {
        guard FileSystem.isDirectory(sysfsRoot) else { throw SysfsError(.list, sysfsRoot, .noSuchFileOrDirectory) }
        // A host without any mdev driver loaded has no class/mdev_bus: that is an empty host, not an error.
        return try read(try busEntries(), present: nil)
    }

    /// Reads only the parents with these names; those no longer in `class/mdev_bus` are reported gone.
    ///
    /// Whether a parent is there is what the listing of `class/mdev_bus` says, as for a full reading, not
    /// whether its link can be followed: a listed parent that cannot be read is not read whole, never gone,
    /// and a listing that fails makes nothing gone.
    public func read(parents names: Set<String>) throws(SysfsError) -> InventoryReading {
        guard FileSystem.isDirectory(sysfsRoot) else { throw SysfsError(.list, sysfsRoot, .noSuchFileOrDirectory) }
        return try read(names.sorted(), present: Set(try busEntries()))
    }

    private var bus: String { sysfsRoot.appending("class/mdev_bus") }

    /// The parents' names: the entries of `class/mdev_bus`. A host without any mdev driver loaded has no
    /// such directory: that is an empty host, not an error.
    private func busEntries() throws(SysfsError) -> [String] {
        do {
            return try FileSystem.list(bus, inside: root).filter { !$0.hasPrefix(".") }
        } catch where error.errno == .noSuchFileOrDirectory {
            // Only a bus that is not there is empty: any other failure says nothing, so nothing is gone.
            return []
        }
    }

    /// - Parameter present: for a partial reading, the entries of `class/mdev_bus`: a name asked for that is
    ///   not one of them is gone. Nil for a full reading, whose names are those entries.
    private func read(_ names: [String], present: Set<String>?) throws(SysfsError) -> InventoryReading {
        // /proc is scanned only when a parent read has devices, and then once for the whole reading.
        let scan = LazyHolderScan(scanner: holderScanner)
        var reading = InventoryReading(inventory: Inventory(parents: []))
        defer { reading.uninspectableProcesses = scan.result?.uninspectable ?? [] }
        var parents: [Parent] = []
        for name in names {
            let link = bus.appending(name)
            // Names come from events; only a name that is an entry of class/mdev_bus is a parent.
            if let present, !present.contains(name) {
                reading.gone.insert(name)
                continue
            }
            do {
                parents.append(try readParent(name, link: link, scan: scan, into: &reading))
            } catch where error.path.hasPrefix(holderScanner.procRoot) {
                throw error  // Without /proc no device can be known free: nothing is read.
            } catch {
                // It went away while being read; a listing that fails says nothing, and nothing is gone.
                if present != nil, let now = try? busEntries(), !now.contains(name) {
                    reading.gone.insert(name)
                } else {
                    reading.warnings.append("parent \(name) left out: \(error)")
                    reading.incomplete[name] = "\(error)"
                }
            }
        }
        reading.inventory = Inventory(parents: parents)
        return reading
    }

    private func readParent(_ name: String, link: String, scan: LazyHolderScan, into reading: inout InventoryReading) throws(SysfsError) -> Parent {
        let directory = try FileSystem.resolve(link, inside: sysfsRoot)
        var location = MdevParentLocation(name: name, directory: directory)
        defer { reading.locations[name] = .mdev(location) }
        let typesDirectory = directory.appending("mdev_supported_types")
        var types: [MdevType] = []
        var problems: [String] = []
        for typeID in try FileSystem.list(typesDirectory, inside: root) {
            let typeDirectory = typesDirectory.appending(typeID)
            location.types[typeID] = typeDirectory
            do {
                let type = try readType(typeID, at: typeDirectory)
                if type.availableInstances > HostKey.slotCount {
                    reading.warnings.append("type \(typeID) of parent \(name) reports \(type.availableInstances) available instances; "
                        + "at most \(HostKey.slotCount) are created per type and parent")
                }
                types.append(type)
            } catch {
                // The type stays known (a card keeps the type it has), but nothing is planned on this parent.
                types.append(readType(typeID, at: typeDirectory, available: 0))
                problems.append("type \(typeID): \(error)")
            }
        }
        if !problems.isEmpty {
            let problem = problems.joined(separator: "; ")
            reading.warnings.append("parent \(name) is left as it is: \(problem)")
            reading.incomplete[name] = problem
        }
        var devices: [MdevDevice] = []
        for entry in try FileSystem.list(directory, inside: root) {
            guard let uuid = UUID(uuidString: entry) else { continue }
            let deviceDirectory = directory.appending(entry)
            guard let typeLink = try? FileSystem.readLink(deviceDirectory.appending("mdev_type"), inside: root) else { continue }
            let vfio = vfioFiles(ofDeviceAt: deviceDirectory)
            devices.append(MdevDevice(uuid: uuid, type: typeLink.lastPathComponent, holders: try scan.get().holders(group: vfio.group, cdevs: vfio.cdevs)))
            location.devices[uuid] = deviceDirectory
        }
        // An SR-IOV virtual function (NVIDIA's A-series and later in mdev mode) belongs to its physical
        // function's card, and holds one device at most.
        let physicalFunction = (try? FileSystem.readLink(directory.appending("physfn"), inside: root))?.lastPathComponent
        return Parent(
            name: name, card: physicalFunction, driver: (try? FileSystem.readLink(directory.appending("driver"), inside: root))?.lastPathComponent,
            pciID: pciID(of: directory), types: types, devices: devices, instanceLimit: physicalFunction == nil ? nil : 1,
            readProblem: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    private func readType(_ id: String, at directory: String) throws -> MdevType {
        readType(id, at: directory, available: try availableInstances(at: directory))
    }

    private func readType(_ id: String, at directory: String, available: Int) -> MdevType {
        func optional(_ file: String) -> String? {
            (try? FileSystem.readText(directory.appending(file), inside: root))?.trimmingSpaces()
        }
        return MdevType(
            id: id, name: optional("name"), availableInstances: available, deviceAPI: optional("device_api"),
            description: optional("description"))
    }

    /// `vendor:device` of the PCI function at `directory` (`10de:1eb8`), when both files read.
    func pciID(of directory: String) -> String? {
        guard let vendor = try? FileSystem.readText(directory.appending("vendor"), inside: root).trimmingSpaces(),
            let device = try? FileSystem.readText(directory.appending("device"), inside: root).trimmingSpaces()
        else { return nil }
        func hex(_ text: String) -> String { text.hasPrefix("0x") ? String(text.dropFirst(2)) : text }
        return "\(hex(vendor)):\(hex(device))"
    }

    /// What a VM opens to use a device: its IOMMU group number (`iommu_group` link) and, with iommufd, its
    /// VFIO cdevs (`vfio-dev/vfioN`).
    func vfioFiles(ofDeviceAt directory: String) -> (group: String?, cdevs: [String]) {
        let group = (try? FileSystem.readLink(directory.appending("iommu_group"), inside: root))?.lastPathComponent
        let cdevDirectory = directory.appending("vfio-dev")
        let cdevs = FileSystem.exists(cdevDirectory, inside: root) ? (try? FileSystem.list(cdevDirectory, inside: root)) ?? [] : []
        return (group, cdevs)
    }

    /// Reads `available_instances` of one discovered type directory.
    /// - Throws: ``SysfsError`` when it cannot be read, ``SysfsValueError`` when it does not hold a count.
    func availableInstances(at typeDirectory: String) throws -> Int {
        let path = typeDirectory.appending("available_instances")
        let text = try FileSystem.readText(path, inside: root)
        guard let value = SysfsNumber.count(text) else {
            throw SysfsValueError(path: path, text: text, expected: SysfsNumber.expected)
        }
        return value
    }
}

/// One holder scan, made on first use and reused for the rest of a reading.
private final class LazyHolderScan {
    let scanner: VFIOHolderScanner
    private(set) var result: VFIOHolderScanner.Scan?

    init(scanner: VFIOHolderScanner) {
        self.scanner = scanner
    }

    func get() throws(SysfsError) -> VFIOHolderScanner.Scan {
        if let result { return result }
        let scan = try scanner.scan()
        result = scan
        return scan
    }
}
