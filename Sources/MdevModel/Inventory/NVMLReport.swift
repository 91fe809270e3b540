/// What NVIDIA's management library (NVML) says about the host's GPUs, as `mdev-reconciler nvml` prints it:
/// read only, and kept beside sysfs's view, never mixed into it. A field NVML could not give is nil, with
/// NVML's own words for why in ``NVMLReport/GPU/problems``.
public struct NVMLReport: Sendable, Hashable, Codable {
    /// The library that was opened (`libnvidia-ml.so.1`, or the test override).
    public var library: String
    public var driverVersion: String?
    public var gpus: [GPU]

    public init(library: String, driverVersion: String?, gpus: [GPU]) {
        self.library = library
        self.driverVersion = driverVersion
        self.gpus = gpus
    }

    /// One GPU as NVML enumerates it.
    public struct GPU: Sendable, Hashable, Codable {
        /// The PCI address as sysfs names it (`0000:41:00.0`), from NVML's bus id.
        public var address: String
        public var name: String?
        /// NVML's host vGPU mode: `sriov` (vGPUs on SR-IOV virtual functions) or `non-sriov` (a T4, say,
        /// whatever its `sriov_totalvfs` says).
        public var hostVgpuMode: String?
        /// MIG mode now and after the next GPU reset; nil on a GPU without MIG.
        public var migMode: MIGMode?
        /// Whether the GPU takes vGPUs of different types at once; nil where NVML does not support the query.
        public var heterogeneousVgpus: Bool?
        /// The GPU-instance profiles (only listed while MIG mode is enabled, as NVML gives them only then).
        public var gpuInstanceProfiles: [GPUInstanceProfile]
        public var vgpuTypes: [VGPUType]
        /// Why a query failed, as `function: NVML's message`, for each query that did.
        public var problems: [String]

        public init(
            address: String, name: String?, hostVgpuMode: String?, migMode: MIGMode?, heterogeneousVgpus: Bool?,
            gpuInstanceProfiles: [GPUInstanceProfile], vgpuTypes: [VGPUType], problems: [String]
        ) {
            self.address = address
            self.name = name
            self.hostVgpuMode = hostVgpuMode
            self.migMode = migMode
            self.heterogeneousVgpus = heterogeneousVgpus
            self.gpuInstanceProfiles = gpuInstanceProfiles
            self.vgpuTypes = vgpuTypes
            self.problems = problems
        }
    }

    public struct MIGMode: Sendable, Hashable, Codable {
        public var current: Bool
        public var pending: Bool

        public init(current: Bool, pending: Bool) {
            self.current = current
            self.pending = pending
        }
    }

    /// A MIG GPU-instance profile: its id (what vGPU types name), name, size and how many instances exist.
    public struct GPUInstanceProfile: Sendable, Hashable, Codable {
        public var id: Int
        public var name: String
        public var slices: Int
        public var memoryMB: Int
        /// The most instances of this profile the GPU holds.
        public var maxInstances: Int
        /// The instances of this profile that exist now.
        public var instances: Int

        public init(id: Int, name: String, slices: Int, memoryMB: Int, maxInstances: Int, instances: Int) {
            self.id = id
            self.name = name
            self.slices = slices
            self.memoryMB = memoryMB
            self.maxInstances = maxInstances
            self.instances = instances
        }
    }

    /// A vGPU type the GPU supports.
    public struct VGPUType: Sendable, Hashable, Codable {
        /// NVML's type id, which sysfs names `nvidia-<id>`.
        public var id: Int
        public var name: String?
        /// `Compute`, `Quadro`, `NVS`…
        public var typeClass: String?
        public var framebufferMB: Int?
        public var maxInstances: Int?
        /// The GPU-instance profile a MIG-backed type needs; nil for a time-sliced type.
        public var gpuInstanceProfile: Int?
        /// Whether a vGPU of this type can be created now.
        public var creatable: Bool

        public init(id: Int, name: String?, typeClass: String?, framebufferMB: Int?, maxInstances: Int?, gpuInstanceProfile: Int?, creatable: Bool) {
            self.id = id
            self.name = name
            self.typeClass = typeClass
            self.framebufferMB = framebufferMB
            self.maxInstances = maxInstances
            self.gpuInstanceProfile = gpuInstanceProfile
            self.creatable = creatable
        }

        /// The id sysfs and the config use for it.
        public var typeID: String { "nvidia-\(id)" }
    }
}
