import MdevModel

/// A virtual function that carries NVIDIA's vendor-specific files (`<VF>/nvidia/current_vgpu_type`, ...).
public struct VendorFunction: Sendable, Hashable {
    /// The function's PCI address (`0000:41:00.4`).
    public var name: String
    /// Its physical GPU's PCI address (the `physfn` link), or the function itself when it has none.
    public var gpu: String
    /// The bound driver (`nvidia`).
    public var driver: String?
    /// PCI `vendor:device` ids; a virtual function keeps its GPU's device id.
    public var pciID: String?
    /// Its resolved device directory, as discovered in `bus/pci/devices`: where its `nvidia/` files are.
    public var directory: String

    /// The key of its GPU model: the PCI id, else the GPU itself.
    var model: String { pciID ?? gpu }

    public init(name: String, gpu: String, driver: String? = nil, pciID: String? = nil, directory: String) {
        self.name = name
        self.directory = directory
        self.gpu = gpu
        self.driver = driver
        self.pciID = pciID
    }
}

/// The files of NVIDIA's vendor-specific framework: the real sysfs, or a simulated GPU in tests.
///
/// Functions are addressed by the ``VendorFunction`` values ``functions()`` or ``function(named:)`` discovered:
/// the files read and written are those of the function's discovered directory.
public protocol VendorVGPUFiles: Sendable {
    /// Every PCI function that has `nvidia/current_vgpu_type`.
    func functions() throws(SysfsError) -> [VendorFunction]
    /// The function with this name if it is one (an event names it); nil when it is not, or no longer, one.
    func function(named name: String) -> VendorFunction?
    /// The text of `nvidia/creatable_vgpu_types`.
    func creatableTypes(of function: VendorFunction) throws -> String
    /// The text of `nvidia/current_vgpu_type`.
    func currentType(of function: VendorFunction) throws -> String
    /// One write of `text` to `nvidia/current_vgpu_type`.
    func setCurrentType(_ text: String, of function: VendorFunction) throws
    /// The processes holding each function's VFIO group or VFIO device file, found in one scan.
    /// - Returns: Holders by function name; a function without holders may be left out.
    func holders(of functions: [VendorFunction]) throws -> [String: [DeviceHolder]]
}
