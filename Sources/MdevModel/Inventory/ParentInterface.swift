/// How a parent's devices are made, which decides how they are created, removed and recognised.
public enum ParentInterface: String, Sendable, Hashable, Codable {
    /// The kernel's mediated device framework: `mdev_supported_types/<type>/create`, devices named by UUID.
    case mdev
    /// NVIDIA's vendor-specific VFIO framework (vGPU 17 and later on kernel 6.8 and later): an SR-IOV
    /// virtual function becomes a vGPU when a type number is written to its `nvidia/current_vgpu_type`.
    /// It holds one vGPU, which has no UUID in sysfs.
    case nvidiaVendorSpecific = "nvidia-vendor-specific"

    /// How `types` and the README name it.
    public var modeName: String {
        switch self {
        case .mdev: return "mdev mode"
        case .nvidiaVendorSpecific: return "vendor-specific mode"
        }
    }
}
