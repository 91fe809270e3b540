import MdevModel
import Synchronization

/// NVIDIA's vendor-specific files in the real sysfs: `bus/pci/devices/<VF>/nvidia/`.
///
/// Writes go only to the `nvidia` directory of a function found by listing `bus/pci/devices`.
public final class SysfsVendorVGPUFiles: VendorVGPUFiles {
    public let sysfsRoot: String
    public let holderScanner: VFIOHolderScanner
    /// The resolved device directory of each discovered function.
    private let discovered = Mutex<[String: String]>([:])

    public init(sysfsRoot: String = "/sys", holderScanner: VFIOHolderScanner = VFIOHolderScanner()) {
        self.sysfsRoot = sysfsRoot
        self.holderScanner = holderScanner
    }

    private var devices: String { sysfsRoot.appending("bus/pci/devices") }

    public func functions() throws(SysfsError) -> [VendorFunction] {
        // A host without PCI (or without the bus directory in a test tree) has no functions.
        guard FileSystem.isDirectory(devices) else { return [] }
        let names = try FileSystem.list(devices)
        // Functions that went away are forgotten, so nothing is written to where they were.
        discovered.withLock { known in known = known.filter { names.contains($0.key) } }
        return names.compactMap { discover($0) }
    }

    public func function(named name: String) -> VendorFunction? {
        guard !name.contains("/"), !name.hasPrefix(".") else { return nil }
        return discover(name)
    }

    private func discover(_ name: String) -> VendorFunction? {
        let link = devices.appending(name)
        guard FileSystem.exists(link.appending("nvidia/current_vgpu_type")), let directory = try? FileSystem.resolve(link, inside: sysfsRoot) else {
            discovered.withLock { $0[name] = nil }
            return nil
        }
        discovered.withLock { $0[name] = directory }
        let gpu = (try? FileSystem.readLink(directory.appending("physfn")))?.lastPathComponent
        return VendorFunction(
            name: name, gpu: gpu ?? name, driver: (try? FileSystem.readLink(directory.appending("driver")))?.lastPathComponent,
            pciID: SysfsInventoryReader.pciID(of: directory))
    }

    private func file(_ name: String, of function: String) throws(NotDiscoveredError) -> String {
        guard let directory = discovered.withLock({ $0[function] }) else { throw NotDiscoveredError("virtual function \(function)") }
        return directory.appending("nvidia").appending(name)
    }

    public func creatableTypes(of function: String) throws -> String {
        try FileSystem.readText(try file("creatable_vgpu_types", of: function))
    }

    public func currentType(of function: String) throws -> String {
        try FileSystem.readText(try file("current_vgpu_type", of: function))
    }

    public func setCurrentType(_ text: String, of function: String) throws {
        try FileSystem.write(text, to: try file("current_vgpu_type", of: function), inside: sysfsRoot)
    }

    public func holders(of functions: [String]) throws -> [String: [DeviceHolder]] {
        let directories = discovered.withLock { known in functions.compactMap { name in known[name].map { (name, $0) } } }
        guard !directories.isEmpty else { return [:] }
        let scan = try holderScanner.scan()
        var holders: [String: [DeviceHolder]] = [:]
        for (name, directory) in directories {
            // A VM gets the function as a plain VFIO PCI device: its IOMMU group, or its cdev with iommufd.
            let vfio = SysfsInventoryReader.vfioFiles(ofDeviceAt: directory)
            let found = scan.holders(group: vfio.group, cdevs: vfio.cdevs)
            if !found.isEmpty { holders[name] = found }
        }
        return holders
    }
}
