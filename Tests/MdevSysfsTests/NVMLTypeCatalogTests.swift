import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// Vendor-specific mode with NVML stating each GPU's types: exact names and capacities from the first
/// reading, through the program's dlopen path, against a copy of the project's fake library per test.
@Suite("NVML's vGPU types in vendor-specific mode")
struct NVMLTypeCatalogTests {
    /// The backend over `gpus`, NVML being the fake with `nvml`'s GPUs (nil: no catalog, sysfs alone).
    func backend(_ gpus: SimulatedVendorGPUs, nvml: String?) throws -> VendorVGPUBackend {
        let catalog = try nvml.map { NVMLVGPUTypeCatalog(path: try FakeNVML.library(gpus: $0)) }
        return VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), catalog: catalog) { _ in }
    }

    func applier(_ backend: VendorVGPUBackend, _ types: [String]) -> Applier {
        Applier(host: backend) { inventory in
            Planner.plan(PlanningInput(
                inventory: inventory, wanted: WantedTypes(types: types, source: .global), hostKey: HostKey(nodeName: "node01"),
                settings: ReconcilerSettings(removeForeignDevices: true), nodeName: "node01"))
        }
    }

    /// An L40S another program filled with one 48Q: every other function lists only the header.
    func fullL40S() -> SimulatedVendorGPUs {
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        gpus.configure("0000:3d:00.4", number: 1156)
        return gpus
    }

    @Test("A full GPU whose functions list only the header: NVML's types, names and capacities from the first reading")
    func fullGPU() throws {
        let gpus = fullL40S()
        #expect(try gpus.creatableTypes(of: "0000:3d:00.5") == "ID    : vGPU Name\n")
        let inventory = try backend(gpus, nvml: "0000:3d:00.0=l40s").readInventory().inventory
        let free = try #require(inventory.parent(named: "0000:3d:00.5"))
        let captured = try CreatableVGPUTypes.parse(VendorProfiles.l40sCreatableText)
        #expect(free.types.map(\.id) == captured.map(\.typeID))
        #expect(free.types.map(\.name) == captured.map(\.name))
        #expect(["nvidia-1145", "nvidia-1148", "nvidia-1150", "nvidia-1155", "nvidia-1156"].map { free.type(withID: $0)?.maxInstances } == [32, 24, 12, 2, 1])
        #expect(free.types.allSatisfy { $0.capacitySource == .nvml && $0.availableInstances == 0 })
        // Without NVML the same reading knows nothing of the model yet: no type, no capacity.
        let unknown = try backend(gpus, nvml: nil).readInventory().inventory
        #expect(unknown.parent(named: "0000:3d:00.5")?.types.isEmpty == true)
        #expect(unknown.parent(named: "0000:3d:00.4")?.types.map(\.maxInstances) == [nil])
    }

    @Test("On a full GPU the first plan already gives the card its type: the foreign 48Q goes, exactly 24 × 2Q come")
    func firstPlanIsExact() async throws {
        let gpus = fullL40S()
        let backend = try backend(gpus, nvml: "0000:3d:00.0=l40s")
        let applier = applier(backend, ["NVIDIA_L40S-2Q"])
        let plan = applier.planner(try backend.readInventory().inventory)
        #expect(plan.parents.flatMap(\.remove).count == 1)
        #expect(plan.parents.count == 32)
        #expect(plan.parents.allSatisfy { $0.type == "nvidia-1148" })
        let report = try await applier.apply()
        #expect(report.converged, "\(report.failures)")
        #expect(report.created.count == 24)
        #expect(gpus.state.withLock { state in state.current.values.filter { $0 == 1148 }.count } == 24)
        // Without NVML the first plan knows no such type (it is learnt once the GPU is free).
        let blind = try self.backend(fullL40S(), nvml: nil)
        let blindPlan = self.applier(blind, ["NVIDIA_L40S-2Q"]).planner(try blind.readInventory().inventory)
        #expect(blindPlan.parents.allSatisfy { $0.type == nil && $0.create.isEmpty })
    }

    @Test("NVML's capacity is exact where the framebuffer's is not: 32 × 1B on 32 functions, not 48")
    func exactWhereFramebufferIsNot() throws {
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        let stated = try backend(gpus, nvml: "0000:3d:00.0=l40s").readInventory().inventory.parents[0].type(withID: "nvidia-1145")
        #expect(stated?.maxInstances == 32)
        let learnt = try backend(gpus, nvml: nil).readInventory().inventory.parents[0].type(withID: "nvidia-1145")
        #expect(learnt?.maxInstances == 48)
        #expect(learnt?.capacitySource == .framebuffer)
    }

    @Test("A GPU NVML does not know, or no library: what sysfs shows, as before")
    func unknownGPU() throws {
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0"), VendorProfiles.l40s("0000:4e:00.0")])
        let reading = try backend(gpus, nvml: "0000:4e:00.0=l40s").readInventory()
        #expect(reading.warnings.isEmpty)
        let sources = Dictionary(grouping: reading.inventory.parents, by: \.card).mapValues { Set($0.flatMap(\.types).map(\.capacitySource)) }
        #expect(sources == ["0000:3d:00.0": [.framebuffer], "0000:4e:00.0": [.nvml]])
        let none = VendorVGPUBackend(
            files: gpus, record: VendorVGPURecord(path: nil), catalog: NVMLVGPUTypeCatalog(path: "/nonexistent/libnvidia-ml.so.1")) { _ in }
        let plain = VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil)) { _ in }
        #expect(try none.readInventory().inventory == plain.readInventory().inventory)
    }

    @Test("A catalog that fails for a GPU: a warning naming it, and what sysfs shows")
    func failingCatalog() throws {
        struct Failing: VGPUTypeCatalog {
            func types(ofGPU address: String) throws -> DriverVGPUTypes? {
                throw NVMLError(function: "nvmlDeviceGetSupportedVgpus", code: 999, message: "Unknown Error")
            }
        }
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        let reading = try VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), catalog: Failing()) { _ in }.readInventory()
        #expect(reading.warnings == [
            "NVML cannot list the vGPU types of GPU 0000:3d:00.0 (nvmlDeviceGetSupportedVgpus: Unknown Error); its types are what sysfs showed",
        ])
        #expect(reading.inventory.parents[0].types.count == 23)
    }

    @Test("A catalog whose ids are not sysfs's numbers is not used: a warning, and what sysfs shows")
    func mismatchedCatalog() throws {
        struct Shifted: VGPUTypeCatalog {
            let shift: Int
            let rename: Bool
            func types(ofGPU address: String) throws -> DriverVGPUTypes? {
                let listed = try CreatableVGPUTypes.parse(VendorProfiles.l40sCreatableText)
                return DriverVGPUTypes(
                    types: listed.map { .init(number: $0.number + shift, name: rename ? $0.name + " " : $0.name, maxInstances: 1) },
                    migEnabled: false)
            }
        }
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        let shifted = try VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), catalog: Shifted(shift: 1000, rename: false)) { _ in }
            .readInventory()
        #expect(shifted.warnings == [
            "NVML's vGPU types of GPU 0000:3d:00.0 do not match sysfs's (sysfs lists 1145 as 'NVIDIA L40S-1B', NVML does not have it); its types are what sysfs showed",
        ])
        #expect(shifted.inventory.parents[0].types.allSatisfy { $0.capacitySource == .framebuffer })
        let renamed = try VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), catalog: Shifted(shift: 0, rename: true)) { _ in }
            .readInventory()
        #expect(renamed.warnings.first?.contains("NVML names it 'NVIDIA L40S-1B '") == true)
        // A full GPU (nothing listed) is checked against what its model listed before, and the functions' types.
        let full = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        full.configure("0000:3d:00.4", number: 1156)
        let unlisted = try VendorVGPUBackend(files: full, record: VendorVGPURecord(path: nil), catalog: Shifted(shift: 1000, rename: false)) { _ in }
            .readInventory()
        #expect(unlisted.warnings == [
            "NVML's vGPU types of GPU 0000:3d:00.0 do not match sysfs's (a function has type 1156, NVML does not have it); its types are what sysfs showed",
        ])
        let learnt = VendorVGPURecord(path: nil)
        try learnt.learn([VGPUTypeListing(number: 1148, name: "NVIDIA L40S-2Q")], pciID: "10de:26b9")
        full.configure("0000:3d:00.4", number: 0)
        full.configure("0000:3d:00.4", number: 2148)  // a number the shifted catalog has; the model's 1148 it lacks
        let remembered = try VendorVGPUBackend(files: full, record: learnt, catalog: Shifted(shift: 1000, rename: false)) { _ in }.readInventory()
        #expect(remembered.warnings.contains { $0.contains("sysfs lists 1148 as 'NVIDIA L40S-2Q', NVML does not have it") })
        // The same catalog, agreeing: used.
        let agreeing = try VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), catalog: Shifted(shift: 0, rename: false)) { _ in }
            .readInventory()
        #expect(agreeing.warnings.isEmpty)
        #expect(agreeing.inventory.parents[0].types.allSatisfy { $0.capacitySource == .nvml && $0.maxInstances == 1 })
    }

    @Test("MIG-backed types are offered only while MIG mode is on, time-sliced ones only while it is off; while it is off both are listed")
    func offeredByMIGMode() throws {
        let off = try #require(try NVMLVGPUTypeCatalog(path: try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb")).types(ofGPU: "0000:41:00.0"))
        #expect(off.types.count == 8)
        #expect(!off.migEnabled && off.hasMIG)
        #expect(off.offered.map(\.name) == ["NVIDIA A100-4C", "NVIDIA A100-10C", "NVIDIA A100-40C"])
        #expect(off.listed == off.types)
        let on = try #require(try NVMLVGPUTypeCatalog(path: try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb:mig")).types(ofGPU: "0000:41:00.0"))
        #expect(on.migEnabled)
        #expect(on.offered.map(\.gpuInstanceProfile) == [19, 14, 9, 5, 0])
        #expect(on.listed == on.offered)
        let l40s = try #require(try NVMLVGPUTypeCatalog(path: try FakeNVML.library(gpus: "0000:3d:00.0=l40s")).types(ofGPU: "0000:3d:00.0"))
        #expect(!l40s.hasMIG && l40s.listed == l40s.offered)
        #expect(on.offered.first == DriverVGPUTypes.VGPUType(number: 700, name: "NVIDIA A100-1-5C", maxInstances: 7, gpuInstanceProfile: 19))
        // A GPU the library does not know is no answer, not an error.
        #expect(try NVMLVGPUTypeCatalog(path: try FakeNVML.library(gpus: "0000:41:00.0=a100-40gb")).types(ofGPU: "0000:99:00.0") == nil)
    }
}

@Suite("Opening NVML once per process")
struct NVMLSharedLibraryTests {
    @Test("A library that would not initialise is tried again after the retry interval, not before; one that did is kept")
    func retriesFailure() throws {
        // A copy whose driver is "not loaded" (no GPUs file yet).
        let library = try FakeNVML.library(gpus: "0000:3d:00.0=l40s")
        let gpus = library + ".gpus"
        try FileManager.default.moveItem(atPath: gpus, toPath: gpus + ".later")
        let start = ContinuousClock.now
        guard case .failure(let failure) = NVMLLibrary.shared(path: library, now: start) else {
            Issue.record("the library opened without its GPUs")
            return
        }
        #expect(failure.reason == "nvmlInit_v2: Driver Not Loaded")
        // The driver loads.
        try FileManager.default.moveItem(atPath: gpus + ".later", toPath: gpus)
        #expect(throws: NVMLLibrary.Unavailable.self) { try NVMLLibrary.shared(path: library, now: start.advanced(by: .seconds(59))).get() }
        let opened = try NVMLLibrary.shared(path: library, now: start.advanced(by: NVMLLibrary.retryInterval)).get()
        #expect(try opened.devices().count == 1)
        #expect(try NVMLLibrary.shared(path: library, now: start.advanced(by: .seconds(600))).get() === opened)
    }
}
