import MdevModel

/// NVIDIA's vendor-specific files in the real sysfs: `bus/pci/devices/<VF>/nvidia/`.
///
/// Reads and writes go only to the `nvidia` directory of a function found by listing `bus/pci/devices`
/// and resolving its link inside the sysfs root (``VendorFunction/directory``); nothing is kept between calls.
public struct SysfsVendorVGPUFiles: VendorVGPUFiles {
    /// How sysfs is read (``SysfsInventoryReader``, whose root every file is read and written inside) and
    /// who holds a function.
    public let reader: SysfsInventoryReader

    public init(sysfsRoot: String = "/sys", holderScanner: VFIOHolderScanner = VFIOHolderScanner()) {
        reader = SysfsInventoryReader(sysfsRoot: sysfsRoot, holderScanner: holderScanner)
    }

    private var root: ConfinedRoot { reader.root }
    private var devices: String { root.path.appending("bus/pci/devices") }

    public func functions() throws(SysfsError) -> [VendorFunction] {
        // A host without PCI (or without the bus directory in a test tree) has no functions.
        guard FileSystem.isDirectory(devices, inside: root) else { return [] }
        return try FileSystem.list(devices, inside: root).compactMap { discover($0) }
    }

    public func function(named name: String) -> VendorFunction? {
        guard !name.contains("/"), !name.hasPrefix(".") else { return nil }
        return discover(name)
    }

    private func discover(_ name: String) -> VendorFunction? {
        let link = devices.appending(name)
        guard FileSystem.exists(link.appending("nvidia/current_vgpu_type"), inside: root),
            let directory = try? FileSystem.resolve(link, inside: root.path)
        else { return nil }
        let gpu = (try? FileSystem.readLink(directory.appending("physfn"), inside: root))?.lastPathComponent
        return VendorFunction(
            name: name, gpu: gpu ?? name, driver: (try? FileSystem.readLink(directory.appending("driver"), inside: root))?.lastPathComponent,
            pciID: reader.pciID(of: directory), directory: directory)
    }

    private func file(_ name: String, of function: VendorFunction) -> String {
        function.directory.appending("nvidia").appending(name)
    }

    public func creatableTypes(of function: VendorFunction) throws -> String {
        try FileSystem.readText(file("creatable_vgpu_types", of: function), inside: root)
    }

    public func currentType(of function: VendorFunction) throws -> String {
        try FileSystem.readText(file("current_vgpu_type", of: function), inside: root)
    }

    public func setCurrentType(_ text: String, of function: VendorFunction) throws {
        try FileSystem.write(text, to: file("current_vgpu_type", of: function), inside: root)
    }

    public func holders(of functions: [VendorFunction]) throws -> [String: [DeviceHolder]] {
        guard !functions.isEmpty else { return [:] }
        let scan = try reader.holderScanner.scan()
        var holders: [String: [DeviceHolder]] = [:]
        for function in functions {
            // A VM gets the function as a plain VFIO PCI device: its IOMMU group, or its cdev with iommufd.
            let vfio = reader.vfioFiles(ofDeviceAt: function.directory)
            let found = scan.holders(group: vfio.group, cdevs: vfio.cdevs)
            if !found.isEmpty { holders[function.name] = found }
        }
        return holders
    }
}
