/// A GPU's vGPU types as its driver states them (NVIDIA's NVML): every type with its exact name and how many
/// one GPU holds, from the first reading, where sysfs in vendor-specific mode shows only what is creatable
/// now (a full GPU shows nothing).
public protocol VGPUTypeCatalog: Sendable {
    /// The types of the GPU at `address` (its physical function, `0000:41:00.0`); nil when the catalog does
    /// not know the GPU or has no library to ask, and then what was learnt from sysfs is used.
    /// - Throws: when the catalog knows the GPU but a query failed (reported; what was learnt is used).
    func types(ofGPU address: String) throws -> DriverVGPUTypes?
}

/// What a ``VGPUTypeCatalog`` says of one GPU.
public struct DriverVGPUTypes: Sendable, Hashable {
    public struct VGPUType: Sendable, Hashable {
        /// The number sysfs lists and `current_vgpu_type` takes (NVML's vGPU type id).
        public var number: Int
        public var name: String
        /// How many vGPUs of the type one GPU holds.
        public var maxInstances: Int
        /// The MIG GPU-instance profile a vGPU of the type needs; nil for a time-sliced type.
        public var gpuInstanceProfile: Int?

        public init(number: Int, name: String, maxInstances: Int, gpuInstanceProfile: Int? = nil) {
            self.number = number
            self.name = name
            self.maxInstances = maxInstances
            self.gpuInstanceProfile = gpuInstanceProfile
        }
    }

    /// Every type the GPU supports.
    public var types: [VGPUType]
    /// Whether MIG mode is on now; false for a GPU without MIG.
    public var migEnabled: Bool

    public init(types: [VGPUType], migEnabled: Bool) {
        self.types = types
        self.migEnabled = migEnabled
    }

    /// The types a virtual function can be given as the GPU is: time-sliced ones while MIG mode is off,
    /// MIG-backed ones while it is on (the driver offers no other).
    public var offered: [VGPUType] {
        types.filter { ($0.gpuInstanceProfile != nil) == migEnabled }
    }

    /// Whether the GPU has MIG at all: it supports a MIG-backed type.
    public var hasMIG: Bool { types.contains { $0.gpuInstanceProfile != nil } }

    /// The types a function lists in the inventory: those ``offered``, and while MIG mode is off also the
    /// MIG-backed ones, which the GPU can take once MIG mode is on and GPU instances exist
    /// (`mdevReconciler.manageMIG` does that; without it the planner leaves them out).
    public var listed: [VGPUType] {
        migEnabled ? offered : types
    }
}
