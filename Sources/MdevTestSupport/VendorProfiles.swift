import MdevModel

/// GPUs in NVIDIA's vendor-specific mode (vGPU 17+, kernel 6.8+), for ``SimulatedVendorGPUs``.
public enum VendorProfiles {
    /// `nvidia/creatable_vgpu_types` of a free virtual function of an L40S, as captured on a real host
    /// (vGPU 17, kernel 6.8; the driver's table layout, header first).
    public static let l40sCreatableText = """
        ID    : vGPU Name
        1145  : NVIDIA L40S-1B
        1146  : NVIDIA L40S-2B
        1147  : NVIDIA L40S-1Q
        1148  : NVIDIA L40S-2Q
        1149  : NVIDIA L40S-3Q
        1150  : NVIDIA L40S-4Q
        1151  : NVIDIA L40S-6Q
        1152  : NVIDIA L40S-8Q
        1153  : NVIDIA L40S-12Q
        1154  : NVIDIA L40S-16Q
        1155  : NVIDIA L40S-24Q
        1156  : NVIDIA L40S-48Q
        1157  : NVIDIA L40S-1A
        1158  : NVIDIA L40S-2A
        1159  : NVIDIA L40S-3A
        1160  : NVIDIA L40S-4A
        1161  : NVIDIA L40S-6A
        1162  : NVIDIA L40S-8A
        1163  : NVIDIA L40S-12A
        1164  : NVIDIA L40S-16A
        1165  : NVIDIA L40S-24A
        1166  : NVIDIA L40S-48A
        2164  : NVIDIA L40S-3B

        """

    /// An L40S-like GPU: 48 GB, 32 virtual functions at offset 4, the captured type list.
    public static func l40s(_ physicalFunction: String) -> SimulatedVendorGPUs.GPU {
        SimulatedVendorGPUs.GPU(
            name: physicalFunction, pciID: "10de:26b9", catalog: try! CreatableVGPUTypes.parse(l40sCreatableText),
            functions: HardwareProfiles.virtualFunctions(of: physicalFunction, count: 32, offset: 4))
    }

    /// An A40-like GPU listing in the layout of NVIDIA's user guide (`NVIDIA A40-1Q 557`): 48 GB, 32
    /// virtual functions at offset 4. A40-1Q 557 and A40-2Q 558 are NVIDIA's documented numbers (the mdev
    /// types nvidia-557 and nvidia-558); the others follow the documented order.
    public static func a40(_ physicalFunction: String) -> SimulatedVendorGPUs.GPU {
        let profiles = ["1Q", "2Q", "3Q", "4Q", "6Q", "8Q", "12Q", "16Q", "24Q", "48Q"]
        return SimulatedVendorGPUs.GPU(
            name: physicalFunction, pciID: "10de:2235",
            catalog: profiles.enumerated().map { VGPUTypeListing(number: 557 + $0.offset, name: "NVIDIA A40-\($0.element)") },
            functions: HardwareProfiles.virtualFunctions(of: physicalFunction, count: 32, offset: 4), guideLayout: true)
    }

    /// An A100-40GB-like GPU with MIG: 16 virtual functions at offset 4, the fake NVML's `a100-40gb` types
    /// (numbers, names and GPU-instance profiles as contrib/nvml-fake has them), time-sliced and MIG-backed.
    public static func a100(_ physicalFunction: String) -> SimulatedVendorGPUs.GPU {
        migGPU(physicalFunction, pciID: "10de:20f1", first: 700, types: [
            ("NVIDIA A100-1-5C", 19), ("NVIDIA A100-2-10C", 14), ("NVIDIA A100-3-20C", 9), ("NVIDIA A100-4-20C", 5), ("NVIDIA A100-7-40C", 0),
            ("NVIDIA A100-4C", nil), ("NVIDIA A100-10C", nil), ("NVIDIA A100-40C", nil),
        ])
    }

    /// An H100-80GB-like GPU with MIG, as the fake NVML's `h100-80gb`: 16 virtual functions at offset 4.
    public static func h100(_ physicalFunction: String) -> SimulatedVendorGPUs.GPU {
        migGPU(physicalFunction, pciID: "10de:2331", first: 800, types: [
            ("NVIDIA H100-1-10C", 19), ("NVIDIA H100-1-20C", 15), ("NVIDIA H100-2-20C", 14), ("NVIDIA H100-3-40C", 9),
            ("NVIDIA H100-4-40C", 5), ("NVIDIA H100-7-80C", 0), ("NVIDIA H100-8C", nil), ("NVIDIA H100-80C", nil),
        ])
    }

    private static func migGPU(_ physicalFunction: String, pciID: String, first: Int, types: [(name: String, profile: Int?)]) -> SimulatedVendorGPUs.GPU {
        let numbered = types.enumerated().map { (number: first + $0.offset, name: $0.element.name, profile: $0.element.profile) }
        return SimulatedVendorGPUs.GPU(
            name: physicalFunction, pciID: pciID, catalog: numbered.map { VGPUTypeListing(number: $0.number, name: $0.name) },
            functions: HardwareProfiles.virtualFunctions(of: physicalFunction, count: 16, offset: 4),
            gpuInstanceProfiles: Dictionary(uniqueKeysWithValues: numbered.compactMap { type in type.profile.map { (type.number, $0) } }))
    }

    /// A Blackwell-like GPU (RTX PRO 6000 server edition): 96 GB, 32 virtual functions at PCI domain 0001 and
    /// offset 2, as on the captured host (`0001:04:00.0` → `virtfn0` = `0001:04:00.2`, type 1561 creatable).
    /// The type names are illustrative.
    public static func blackwell(_ physicalFunction: String = "0001:04:00.0") -> SimulatedVendorGPUs.GPU {
        let profiles = ["8Q", "12Q", "24Q", "48Q", "96Q"]
        return SimulatedVendorGPUs.GPU(
            name: physicalFunction, pciID: "10de:2bb5",
            catalog: profiles.enumerated().map { VGPUTypeListing(number: 1559 + $0.offset, name: "NVIDIA RTX Pro 6000 Blackwell DC-\($0.element)") },
            functions: HardwareProfiles.virtualFunctions(of: physicalFunction, count: 32, offset: 2))
    }
}
