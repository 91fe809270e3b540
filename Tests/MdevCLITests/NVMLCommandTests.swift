import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

@testable import MdevCLI

/// `nvml`, the read-only probe, through the same dlopen path the program uses on a real host, against the
/// project's fake library (compiled against NVIDIA's nvml.h) over simulated GPUs.
@Suite("The nvml command")
struct NVMLCommandTests {
    func nvml(_ gpus: String, _ arguments: [String] = []) throws -> CommandResult {
        try runCLI(["nvml"] + arguments, environment: try FakeNVML.environment(gpus: gpus))
    }

    func report(_ gpus: String) throws -> NVMLReport {
        let result = try nvml(gpus, ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let decoder = JSONDecoder()
        return try decoder.decode(NVMLReport.self, from: Data(result.stdout.utf8))
    }

    @Test("Without the library: one line that says so, exit 1")
    func noLibrary() throws {
        let result = try runCLI(["nvml"], environment: ["MDEV_RECONCILER_NVML_LIBRARY": "/nonexistent/libnvidia-ml.so.1"])
        #expect(result.status == 1)
        #expect(result.stderr == "mdev-reconciler: error: NVML is not available (/nonexistent/libnvidia-ml.so.1): "
            + "/nonexistent/libnvidia-ml.so.1: cannot open shared object file: No such file or directory\n")
        // A library that is not NVML's.
        let other = try runCLI(["nvml"], environment: ["MDEV_RECONCILER_NVML_LIBRARY": "libc.so.6"])
        #expect(other.status == 1)
        #expect(other.stderr.contains("libc.so.6 has no nvmlInit_v2 or nvmlErrorString: not NVIDIA's NVML library"))
    }

    @Test("A driver that does not initialise: NVML's own words")
    func notInitialised() throws {
        let result = try runCLI(["nvml"], environment: [MdevSysfsNVMLOverride.variable: try FakeNVML.library()])
        #expect(result.status == 1)
        #expect(result.stderr.hasSuffix("nvmlInit_v2: Driver Not Loaded\n"))
    }

    @Test("A T4 is not an SR-IOV vGPU GPU, has no MIG, and lists its time-sliced types")
    func t4() throws {
        let gpu = try #require(try report("0000:3b:00.0=t4").gpus.first)
        #expect(gpu.address == "0000:3b:00.0")
        #expect(gpu.name == "Tesla T4")
        #expect(gpu.hostVgpuMode == "non-sriov")
        #expect(gpu.migMode == nil)
        #expect(gpu.heterogeneousVgpus == nil)
        #expect(gpu.gpuInstanceProfiles.isEmpty)
        #expect(gpu.vgpuTypes.map(\.typeID) == ["nvidia-222", "nvidia-228", "nvidia-230", "nvidia-234"])
        #expect(gpu.vgpuTypes.first == NVMLReport.VGPUType(
            id: 222, name: "GRID T4-1B", typeClass: "NVS", framebufferMB: 1024, maxInstances: 16, gpuInstanceProfile: nil, creatable: true))
        #expect(gpu.problems.isEmpty)
    }

    @Test("An A100 with MIG disabled: time-sliced types creatable, MIG-backed ones not, profiles not listed")
    func a100MIGDisabled() throws {
        let gpu = try #require(try report("0000:41:00.0=a100-40gb").gpus.first)
        #expect(gpu.hostVgpuMode == "sriov")
        #expect(gpu.migMode == NVMLReport.MIGMode(current: false, pending: false))
        #expect(gpu.gpuInstanceProfiles.isEmpty)
        #expect(gpu.vgpuTypes.filter(\.creatable).map(\.name) == ["NVIDIA A100-4C", "NVIDIA A100-10C", "NVIDIA A100-40C"])
        #expect(gpu.vgpuTypes.first { $0.name == "NVIDIA A100-1-5C" }?.gpuInstanceProfile == 19)
        #expect(gpu.problems.isEmpty)
    }

    @Test("An A100 with MIG enabled and two 1g.5gb instances, beside an H100: profiles, counts, creatable MIG-backed types")
    func migEnabled() throws {
        let report = try report("0000:42:00.0=h100-80gb:mig;0000:41:00.0=a100-40gb:mig:gi=19/19")
        #expect(report.driverVersion == "580.95.02")
        #expect(report.gpus.map(\.address) == ["0000:41:00.0", "0000:42:00.0"])
        let a100 = report.gpus[0]
        #expect(a100.gpuInstanceProfiles.map(\.id) == [0, 5, 9, 14, 19])
        #expect(a100.gpuInstanceProfiles.last == NVMLReport.GPUInstanceProfile(
            id: 19, name: "MIG 1g.5gb", slices: 1, memoryMB: 4864, maxInstances: 7, instances: 2))
        #expect(a100.vgpuTypes.filter(\.creatable).map(\.name) == ["NVIDIA A100-1-5C"])
        let h100 = report.gpus[1]
        #expect(h100.heterogeneousVgpus == false)
        #expect(h100.gpuInstanceProfiles.count == 6)
        #expect(h100.gpuInstanceProfiles.allSatisfy { $0.instances == 0 })
        #expect(h100.vgpuTypes.filter(\.creatable).isEmpty)
    }

    @Test("The text form names every part")
    func text() throws {
        let library = try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb:mig:gi=19;0000:3b:00.0=t4")
        let result = try runCLI(["nvml"], environment: [MdevSysfsNVMLOverride.variable: library])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "NVML: driver 580.95.02 (\(library)), 2 GPUs")
        #expect(lines.contains("GPU 0000:41:00.0  NVIDIA A100-PCIE-40GB"))
        #expect(lines.contains("  host vGPU mode: SR-IOV"))
        #expect(lines.contains("  MIG mode: enabled"))
        #expect(lines.contains { $0.hasPrefix("    19       MIG 1g.5gb") && $0.hasSuffix("1 of 7") })
        #expect(lines.contains { $0.hasPrefix("    nvidia-700") && $0.contains("NVIDIA A100-1-5C") && $0.contains("profile 19") && $0.hasSuffix("yes") })
        #expect(lines.contains("  host vGPU mode: not SR-IOV"))
        #expect(lines.contains("  MIG mode: not supported"))
    }
}

/// The override's name, as the program reads it.
enum MdevSysfsNVMLOverride {
    static let variable = "MDEV_RECONCILER_NVML_LIBRARY"
}

/// `types` beside NVML: what the library says of each vendor-mode GPU it knows, and where capacities come from.
@Suite("types with NVML")
struct TypesWithNVMLTests {
    @Test("A GPU NVML knows shows its modes and NVML's types; one it does not know, what sysfs taught")
    func types() throws {
        let nvml = try FakeNVML.environment(gpus: "0000:3d:00.0=l40s")
        let result = try runCLI(["types", "--host-root", "contrib/example-hosts/l40s-vendor-mode"], environment: nvml)
        #expect(result.status == 0, "\(result.stderr)")
        let blocks = result.stdout.components(separatedBy: "\n\n")
        #expect(blocks.count == 2)
        let known = blocks[0].split(separator: "\n").map(String.init)
        #expect(Array(known[1...4]) == [
            "  NVML says:", "    host vGPU mode: SR-IOV", "    MIG mode: not supported", "    heterogeneous vGPUs: off",
        ])
        #expect(known.contains("  nvidia-1145  NVIDIA L40S-1B   32         vfio-pci  at most 32 per GPU (NVML)"))
        #expect(known.filter { $0.hasPrefix("  nvidia-") }.count == 23)
        #expect(known.filter { $0.hasPrefix("  nvidia-") }.allSatisfy { $0.hasSuffix(" per GPU (NVML)") })
        let learnt = blocks[1].split(separator: "\n").map(String.init)
        #expect(!learnt.contains("  NVML says:"))
        #expect(learnt.contains { $0.hasPrefix("  nvidia-1145") && $0.hasSuffix("at most 48 per GPU (from the framebuffer)") })
        #expect(learnt.filter { $0.hasPrefix("  nvidia-") }.count == 23)

        let json = try runCLI(["types", "--host-root", "contrib/example-hosts/l40s-vendor-mode", "--format", "json"], environment: nvml)
        let parents = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])["parents"] as? [[String: Any]]
        let first = try #require(parents?.first)
        #expect((first["nvml"] as? [String: Any])?["hostVgpuMode"] as? String == "sriov")
        #expect((first["types"] as? [[String: Any]])?.compactMap { $0["capacitySource"] as? String } == Array(repeating: "nvml", count: 23))
    }

    @Test("An A100 with MIG mode off lists its MIG-backed types with the GPU-instance profile each needs")
    func migBackedTypes() throws {
        let library = try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb")
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.a100("0000:41:00.0")]) { FakeNVML.migState(of: library, gpu: $0) }
        let backend = VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), catalog: NVMLVGPUTypeCatalog(path: library)) { _ in }
        let text = try TypesReport(try backend.readInventory().inventory).render(format: .text)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("  nvidia-700  NVIDIA A100-1-5C") && $0.hasSuffix("at most 7 per GPU (NVML); MIG-backed: a GPU instance of profile 19 each") })
        #expect(lines.contains { $0.hasPrefix("  nvidia-705  NVIDIA A100-4C") && $0.hasSuffix("at most 10 per GPU (NVML)") })
        #expect(lines.filter { $0.contains("MIG-backed") }.count == 5)
    }
}
