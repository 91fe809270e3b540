/// Parents shaped like real hardware, for tests and the simulated kernel.
///
/// Type ids, names, descriptions and instance counts follow what these drivers show in sysfs; the
/// T4 figures are those of KubeVirt's documentation (16 × nvidia-222, 2 × nvidia-228 per card).
public enum HardwareProfiles {
    /// An NVIDIA Tesla T4 (time-sliced vGPU: one type per GPU).
    public static func t4(_ name: String) -> SimulatedKernel.ParentSpec {
        let types: [(String, String, Int, Int, Int)] = [
            ("nvidia-222", "T4-1B", 16, 4, 1024), ("nvidia-223", "T4-2B", 8, 4, 2048),
            ("nvidia-224", "T4-2B4", 8, 4, 2048), ("nvidia-225", "T4-1A", 16, 1, 1024),
            ("nvidia-226", "T4-2A", 8, 1, 2048), ("nvidia-227", "T4-4A", 4, 1, 4096),
            ("nvidia-228", "T4-8A", 2, 1, 8192), ("nvidia-229", "T4-16A", 1, 1, 16384),
            ("nvidia-230", "T4-1Q", 16, 4, 1024), ("nvidia-231", "T4-2Q", 8, 4, 2048),
            ("nvidia-232", "T4-4Q", 4, 4, 4096), ("nvidia-233", "T4-8Q", 2, 4, 8192),
            ("nvidia-234", "T4-16Q", 1, 4, 16384),
        ]
        return nvidia(name, pciID: "10de:1eb8", product: "GRID", types: types)
    }

    /// An NVIDIA Tesla V100 (time-sliced vGPU).
    public static func v100(_ name: String) -> SimulatedKernel.ParentSpec {
        let types: [(String, String, Int, Int, Int)] = [
            ("nvidia-105", "V100X-1B", 16, 4, 1024), ("nvidia-106", "V100X-2Q", 8, 4, 2048),
            ("nvidia-107", "V100X-4Q", 4, 4, 4096), ("nvidia-108", "V100X-8Q", 2, 4, 8192),
            ("nvidia-109", "V100X-16Q", 1, 4, 16384),
        ]
        return nvidia(name, pciID: "10de:1db5", product: "GRID", types: types)
    }

    private static func nvidia(_ name: String, pciID: String, product: String, types: [(String, String, Int, Int, Int)]) -> SimulatedKernel.ParentSpec {
        SimulatedKernel.ParentSpec(
            name: name, driver: "nvidia", pciID: pciID, rule: .exclusive,
            types: types.map { id, model, maximum, heads, framebuffer in
                SimulatedKernel.TypeSpec(
                    id: id, name: "\(product) \(model)",
                    description: "num_heads=\(heads), frl_config=60, framebuffer=\(framebuffer)M, max_resolution=5120x2880, max_instance=\(maximum)",
                    maxInstances: maximum)
            })
    }

    /// The PCI addresses of an SR-IOV physical function's virtual functions: VF i sits at the PF's function
    /// plus `offset` plus i × `stride` (offset 4 on A16 and A40, 2 on Blackwell).
    public static func virtualFunctions(of physicalFunction: String, count: Int, offset: Int, stride: Int = 1) -> [String] {
        let parts = physicalFunction.split(separator: ":")
        let deviceFunction = parts[2].split(separator: ".")
        let base = Int(deviceFunction[0], radix: 16)! << 3 | Int(deviceFunction[1])!
        return (0..<count).map { index in
            let devfn = base + offset + index * stride
            return String(format: "%@:%@:%02x.%d", String(parts[0]), String(parts[1]), devfn >> 3, devfn & 7)
        }
    }

    /// An NVIDIA A16-like GPU in mdev mode: 16 virtual functions (offset 4), each a parent of one device.
    public static func a16(_ physicalFunction: String) -> [SimulatedKernel.ParentSpec] {
        sriov(physicalFunction, vfs: 16, offset: 4, pciID: "10de:25b6", types: [
            ("nvidia-690", "A16-1Q", 16, 1024), ("nvidia-691", "A16-2Q", 8, 2048), ("nvidia-692", "A16-4Q", 4, 4096),
            ("nvidia-693", "A16-8Q", 2, 8192), ("nvidia-694", "A16-16Q", 1, 16384),
        ])
    }

    /// An NVIDIA A40-like GPU in mdev mode: 32 virtual functions (offset 4); A40-1Q and -2Q are the
    /// nvidia-557 and nvidia-558 of NVIDIA's documentation.
    public static func a40(_ physicalFunction: String) -> [SimulatedKernel.ParentSpec] {
        sriov(physicalFunction, vfs: 32, offset: 4, pciID: "10de:2235", types: [
            ("nvidia-557", "A40-1Q", 32, 1024), ("nvidia-558", "A40-2Q", 24, 2048), ("nvidia-560", "A40-4Q", 12, 4096),
            ("nvidia-564", "A40-8Q", 6, 8192), ("nvidia-567", "A40-48Q", 1, 49152),
        ])
    }

    private static func sriov(
        _ physicalFunction: String, vfs: Int, offset: Int, pciID: String, types: [(String, String, Int, Int)]
    ) -> [SimulatedKernel.ParentSpec] {
        virtualFunctions(of: physicalFunction, count: vfs, offset: offset).map { name in
            SimulatedKernel.ParentSpec(
                name: name, card: physicalFunction, driver: "nvidia", pciID: pciID, rule: .virtualFunction,
                types: types.map { id, model, maximum, framebuffer in
                    SimulatedKernel.TypeSpec(
                        id: id, name: "NVIDIA \(model)",
                        description: "num_heads=4, frl_config=60, framebuffer=\(framebuffer)M, max_resolution=7680x4320, max_instance=\(maximum)",
                        maxInstances: maximum)
                })
        }
    }

    /// An Intel GPU with GVT-g: four types sharing one pool.
    public static func gvtg(_ name: String = "0000:00:02.0") -> SimulatedKernel.ParentSpec {
        let types: [(String, Int, String)] = [("1", 8, "1920x1200"), ("2", 4, "1920x1200"), ("4", 2, "1920x1200"), ("8", 1, "1024x768")]
        return SimulatedKernel.ParentSpec(
            name: name, driver: "i915", pciID: "8086:3e92", rule: .sharedPool(units: 8),
            types: types.map { suffix, cost, resolution in
                SimulatedKernel.TypeSpec(
                    id: "i915-GVTg_V5_\(suffix)", name: "GVTg_V5_\(suffix)",
                    description: "low_gm_size: \(128 / Int(suffix)!)MB\nhigh_gm_size: \(384 / Int(suffix)!)MB\nfence: 4\nresolution: \(resolution)\nweight: \(16 / Int(suffix)!)",
                    maxInstances: 8 / cost, poolCost: cost)
            })
    }

    /// The kernel's mtty sample driver: one parent, two types sharing 24 ports, no description.
    public static func mtty() -> SimulatedKernel.ParentSpec {
        SimulatedKernel.ParentSpec(
            name: "mtty", driver: "mtty", rule: .sharedPool(units: 24),
            types: [
                SimulatedKernel.TypeSpec(id: "mtty-1", name: "Single port serial", maxInstances: 24, poolCost: 1),
                SimulatedKernel.TypeSpec(id: "mtty-2", name: "Dual port serial", maxInstances: 12, poolCost: 2),
            ])
    }
}
