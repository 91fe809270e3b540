/// How a parent's devices are made, which decides how they are created, removed and recognised.
public enum ParentInterface: String, Sendable, Hashable, Codable {
    /// The kernel's mediated device framework: `mdev_supported_types/<type>/create`, devices named by UUID.
    case mdev
    /// NVIDIA's vendor-specific VFIO framework (vGPU 17 and later on kernel 6.8 and later): an SR-IOV
    /// virtual function becomes a vGPU when a type number is written to its `nvidia/current_vgpu_type`.
    /// It holds one vGPU, which has no UUID in sysfs.
    case nvidiaVendorSpecific = "nvidia-vendor-specific"

    /// How a device of this interface is named for people: `<uuid> (<type>)`, or for a vGPU in NVIDIA's
    /// vendor-specific mode, which has no UUID, `vGPU <type>`.
    public func name(of device: PlannedDevice) -> String {
        switch self {
        case .mdev: return "\(device.uuid.sysfsString) (\(device.type))"
        case .nvidiaVendorSpecific: return "vGPU \(device.type)"
        }
    }

    /// One line for a device created or removed on `parent`: `created <uuid> (<type>) on <parent>`,
    /// `removed ... from <parent>`; for a vGPU, `configured <function> as <type>`, `cleared <function> (was <type>)`.
    public func change(_ device: PlannedDevice, created: Bool, on parent: String) -> String {
        switch self {
        case .mdev: return "\(created ? "created" : "removed") \(name(of: device)) \(created ? "on" : "from") \(parent)"
        case .nvidiaVendorSpecific:
            return created ? "configured \(parent) as \(device.type)" : "cleared \(parent) (was \(device.type))"
        }
    }

    /// How `types` and the README name it.
    public var modeName: String {
        switch self {
        case .mdev: return "mdev mode"
        case .nvidiaVendorSpecific: return "vendor-specific mode"
        }
    }
}
