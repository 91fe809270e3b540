#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import MdevModel

/// Builds real sysfs- and procfs-shaped directory trees, with real symbolic links, laid out as the
/// kernel lays them out, under a root directory (`<root>/sys`, `<root>/proc`, `<root>/etc`).
public final class SysfsTreeBuilder {
    public let root: String
    /// The IOMMU group ``addParent(_:)`` gives the next device.
    public var nextIOMMUGroup = 100
    public var sys: String { root + "/sys" }
    public var proc: String { root + "/proc" }
    public var machineIDFile: String { root + "/etc/machine-id" }

    /// A builder for `root`, creating it with empty `sys`, `proc` and `etc`.
    public init(root: String) throws {
        self.root = root
        for directory in [sys, proc, root + "/etc"] { try Self.makeDirectory(directory) }
    }

    /// A builder for a new temporary directory; call ``removeAll()`` when done.
    public static func temporary() throws -> SysfsTreeBuilder {
        var template = Array("/tmp/mdev-tree-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
        return try SysfsTreeBuilder(root: String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    public func removeAll() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The directory of a parent's device, relative to `sys`: PCI addresses under a PCI root, others
    /// as virtual devices of their driver's class.
    public static func devicePath(of parent: String, driver: String) -> String {
        parent.hasPrefix("0000:") || parent.hasPrefix("0001:")
            ? "devices/pci\(parent.prefix(4)):00/\(parent)" : "devices/virtual/\(driver)/\(parent)"
    }

    /// Adds a parent with its types.
    public func addParent(_ parent: Parent) throws {
        let relative = Self.devicePath(of: parent.name, driver: parent.driver ?? "virtual")
        let directory = sys + "/" + relative
        try Self.makeDirectory(directory + "/mdev_supported_types")
        try Self.makeDirectory(sys + "/class/mdev_bus")
        try Self.link(sys + "/class/mdev_bus/" + parent.name, to: "../../" + relative)
        try Self.writeDriverAndIDs(of: directory, driver: parent.driver, pciID: parent.pciID)
        if parent.card != parent.name {
            try Self.link(directory + "/physfn", to: "../\(parent.card)")
        }
        for type in parent.types { try setType(type, of: parent) }
        for device in parent.devices {
            try addDevice(device.uuid, type: device.type, on: parent, iommuGroup: nextIOMMUGroup)
            nextIOMMUGroup += 1
        }
    }

    /// Writes (or rewrites) a type's directory.
    public func setType(_ type: MdevType, of parent: Parent) throws {
        let directory = typeDirectory(type.id, of: parent)
        try Self.makeDirectory(directory + "/devices")
        try Self.write("\(type.availableInstances)\n", to: directory + "/available_instances")
        try Self.write("", to: directory + "/create")
        if let api = type.deviceAPI { try Self.write(api + "\n", to: directory + "/device_api") }
        if let name = type.name { try Self.write(name + "\n", to: directory + "/name") }
        if let description = type.description { try Self.write(description + "\n", to: directory + "/description") }
    }

    /// Adds a device of `type` on `parent`, in IOMMU group `iommuGroup`, optionally with a VFIO cdev.
    public func addDevice(_ uuid: UUID, type: String, on parent: Parent, iommuGroup: Int, vfioCdev: String? = nil) throws {
        let parentRelative = Self.devicePath(of: parent.name, driver: parent.driver ?? "virtual")
        let name = uuid.sysfsString
        let directory = sys + "/" + parentRelative + "/" + name
        try Self.makeDirectory(directory)
        try Self.link(directory + "/mdev_type", to: "../mdev_supported_types/\(type)")
        try Self.link(directory + "/iommu_group", to: "../../../../kernel/iommu_groups/\(iommuGroup)")
        try Self.write("", to: directory + "/remove")
        if let vfioCdev { try Self.makeDirectory(directory + "/vfio-dev/" + vfioCdev) }
        try Self.link(typeDirectory(type, of: parent) + "/devices/" + name, to: "../../../\(name)")
        try Self.makeDirectory(sys + "/bus/mdev/devices")
        try Self.link(sys + "/bus/mdev/devices/" + name, to: "../../../\(parentRelative)/\(name)")
    }

    /// Adds an SR-IOV GPU in NVIDIA's vendor-specific mode as `gpus` shows it now: the physical function
    /// (`sriov_*` files and `virtfnN` links, no `nvidia/` directory) and each virtual function (`physfn`,
    /// bound to `nvidia`, its own IOMMU group, and `nvidia/` with the driver's six files), all listed in
    /// `bus/pci/devices`. Returns the IOMMU group of each virtual function.
    @discardableResult
    public func addVendorGPU(_ gpu: SimulatedVendorGPUs.GPU, from gpus: SimulatedVendorGPUs) throws -> [String: Int] {
        try Self.makeDirectory(sys + "/bus/pci/devices")
        func addFunction(_ name: String) throws -> String {
            let relative = Self.devicePath(of: name, driver: "nvidia")
            let directory = sys + "/" + relative
            try Self.makeDirectory(directory)
            try Self.link(sys + "/bus/pci/devices/" + name, to: "../../../" + relative)
            try Self.writeDriverAndIDs(of: directory, driver: "nvidia", pciID: gpu.pciID)
            return directory
        }
        let physical = try addFunction(gpu.name)
        for (file, value) in [("sriov_totalvfs", gpu.functions.count), ("sriov_numvfs", gpu.functions.count)] {
            try Self.write("\(value)\n", to: physical + "/" + file)
        }
        var groups: [String: Int] = [:]
        for (index, function) in gpu.functions.enumerated() {
            let directory = try addFunction(function)
            try Self.link(physical + "/virtfn\(index)", to: "../\(function)")
            try Self.link(directory + "/physfn", to: "../\(gpu.name)")
            try Self.link(directory + "/iommu_group", to: "../../../kernel/iommu_groups/\(nextIOMMUGroup)")
            groups[function] = nextIOMMUGroup
            nextIOMMUGroup += 1
            let files = [
                ("creatable_vgpu_types", try gpus.creatableTypes(of: function)), ("current_vgpu_type", try gpus.currentType(of: function)),
                ("gpu_instance_id", "-1\n"), ("placement_id", "0\n"), ("vgpu_params", "\n"), ("warm_update", "0\n"),
            ]
            try Self.makeDirectory(directory + "/nvidia")
            for (file, text) in files { try Self.write(text, to: directory + "/nvidia/" + file) }
        }
        return groups
    }

    /// Adds a process with `command` whose open files are links to `openFiles` (`/dev/vfio/12`).
    public func addProcess(pid: Int32, command: String, openFiles: [String]) throws {
        let directory = proc + "/\(pid)"
        try Self.makeDirectory(directory + "/fd")
        try Self.write(command + "\n", to: directory + "/comm")
        for (fd, target) in openFiles.enumerated() { try Self.link(directory + "/fd/\(fd + 3)", to: target) }
    }

    public func writeMachineID(_ text: String) throws {
        try Self.write(text, to: machineIDFile)
    }

    public func typeDirectory(_ type: String, of parent: Parent) -> String {
        sys + "/" + Self.devicePath(of: parent.name, driver: parent.driver ?? "virtual") + "/mdev_supported_types/" + type
    }

    // MARK: Plumbing

    /// A PCI device's `driver` link and `vendor`/`device` files (`pciID` is `vendor:device`).
    static func writeDriverAndIDs(of directory: String, driver: String?, pciID: String?) throws {
        if let driver { try link(directory + "/driver", to: "../../../bus/pci/drivers/\(driver)") }
        if let pciID {
            let ids = pciID.split(separator: ":")
            try write("0x\(ids[0])\n", to: directory + "/vendor")
            try write("0x\(ids[1])\n", to: directory + "/device")
        }
    }

    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    static func link(_ path: String, to target: String) throws {
        guard symlink(target, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
