import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// MIG-backed vGPU types declaratively (`mdevReconciler.manageMIG`): the whole reconcile engine over NVIDIA's
/// vendor-specific mode (simulated functions) and NVML (a copy of the project's fake library per host), the
/// functions listing MIG-backed types from the GPU instances the fake has.
@Suite("MIG-backed vGPU types")
struct MIGBackedTypesTests {
    /// One host: its GPUs' functions, NVML (a copy of the fake, replaced at a restart or a reboot), and the
    /// record file that outlives the program.
    final class Host: Sendable {
        let gpus: SimulatedVendorGPUs
        let library: LockedValue<String>
        let recordPath = temporaryPath("mdev-mig-types-" + UUID().uuidString + ".json")

        init(_ models: [SimulatedVendorGPUs.GPU], nvml: String) throws {
            let library = LockedValue(try FakeNVML.library(gpus: nvml))
            self.library = library
            gpus = SimulatedVendorGPUs(gpus: models) { gpu in FakeNVML.migState(of: library.withLock { $0 }, gpu: gpu) }
        }

        deinit { try? FileManager.default.removeItem(atPath: recordPath) }

        /// The program as started now: a backend and a preparer over one record, in boot `boot`.
        func program(boot: String = "boot-1") -> (backend: VendorVGPUBackend, preparer: MIGCardPreparer) {
            let path = library.withLock { $0 }
            let record = VendorVGPURecord(path: recordPath)
            return (VendorVGPUBackend(files: gpus, record: record, catalog: NVMLVGPUTypeCatalog(path: path)) { _ in },
                    MIGCardPreparer(libraryPath: path, record: record, bootID: boot))
        }

        /// Applies `types` once, as `apply` does.
        func apply(_ types: [String], boot: String = "boot-1", manageMIG: Bool = true, removeForeign: Bool = false) async throws -> ApplyReport {
            let (backend, preparer) = program(boot: boot)
            let settings = ReconcilerSettings(removeForeignDevices: removeForeign, manageMIG: manageMIG)
            return try await Applier(host: backend, preparer: manageMIG ? preparer : nil) { inventory in
                Planner.plan(PlanningInput(
                    inventory: inventory, wanted: WantedTypes(types: types, source: .global), hostKey: HostKey(nodeName: "node01"),
                    settings: settings, nodeName: "node01"))
            }.apply()
        }

        /// The program starts again: NVML is loaded afresh, the GPUs are as they were.
        func restart() throws {
            let restarted = try FakeNVML.restarted(library.withLock { $0 })
            library.withLock { $0 = restarted }
        }

        /// The host reboots: GPU instances are gone (MIG mode too on Hopper), and so are the functions' types.
        func reboot() throws {
            let rebooted = try FakeNVML.rebooted(library.withLock { $0 })
            library.withLock { $0 = rebooted }
            gpus.state.withLock { state in
                state.current = [:]
                state.holders = [:]
            }
        }

        func mig(_ gpu: String) -> SimulatedVendorGPUs.MIGState? {
            FakeNVML.migState(of: library.withLock { $0 }, gpu: gpu)
        }

        /// The GPU instances of a GPU as `profile#id`, sorted.
        func instances(_ gpu: String) throws -> [String] {
            let nvml = try NVMLLibrary.open(path: library.withLock { $0 })
            return try nvml.gpuInstances(try nvml.device(atPCIAddress: gpu)).map { "\($0.profileID)#\($0.id)" }.sorted()
        }

        /// How many functions of a GPU hold each type number.
        func vGPUs(_ gpu: String) -> [Int: Int] {
            gpus.state.withLock { state in
                let functions = Set(state.gpus.first { $0.name == gpu }?.functions ?? [])
                return Dictionary(state.current.filter { functions.contains($0.key) }.map { ($0.value, 1) }, uniquingKeysWith: +)
            }
        }
    }

    static let a100 = "0000:41:00.0", second = "0000:42:00.0"

    func twoA100s(nvml: String = "0000:41:00.0=a100-40gb;0000:42:00.0=a100-40gb") throws -> Host {
        try Host([VendorProfiles.a100(Self.a100), VendorProfiles.a100(Self.second)], nvml: nvml)
    }

    @Test("Two A100s converge to seven A100-1-5C each: MIG mode on, seven 1g.5gb instances, one vGPU per instance, all recorded")
    func converge() async throws {
        let host = try twoA100s()
        let report = try await host.apply(["NVIDIA_A100-1-5C"])
        #expect(report.converged, "\(report.failures) \(report.unprepared) \(report.warnings)")
        for gpu in [Self.a100, Self.second] {
            #expect(host.mig(gpu) == .init(enabled: true, instances: [19: 7]))
            #expect(host.vGPUs(gpu) == [700: 7])
            #expect(report.prepared.contains(.init(card: gpu, "turned MIG mode on for GPU \(gpu), for NVIDIA A100-1-5C")))
            #expect(report.prepared.contains(.init(card: gpu, "created 7 GPU instances of profile 19 on GPU \(gpu) for NVIDIA A100-1-5C; it has 7")))
            #expect(VendorVGPURecord(path: host.recordPath).createdGPUInstances(on: gpu, bootID: "boot-1").map(\.id) == Array(1...7))
        }
        #expect(report.created.count == 14)
        #expect(host.gpus.state.withLock(\.violations).isEmpty)
    }

    @Test("plan names the GPUs apply would prepare first (it showed them 'ok'); none once they are ready")
    func cardsToPrepare() async throws {
        let host = try twoA100s()
        func toPrepare() throws -> Set<String> {
            let inventory = try host.program().backend.readInventory().inventory
            let plan = Planner.plan(PlanningInput(
                inventory: inventory, wanted: WantedTypes(types: ["NVIDIA_A100-1-5C"], source: .global), hostKey: HostKey(nodeName: "node01"),
                settings: ReconcilerSettings(manageMIG: true), nodeName: "node01"))
            return MIGCardPreparer.cardsToPrepare(plan, inventory: inventory)
        }
        #expect(try toPrepare() == [Self.a100, Self.second])
        #expect(try await host.apply(["NVIDIA_A100-1-5C"]).converged)
        #expect(try toPrepare().isEmpty)
    }

    @Test("Without manageMIG a GPU whose MIG mode is off is planned as before: MIG-backed types are listed, never planned")
    func withoutManageMIG() async throws {
        let host = try twoA100s()
        let inventory = try host.program().backend.readInventory().inventory
        let function = try #require(inventory.parents.first)
        #expect(function.migEnabled == false)
        #expect(function.type(withID: "nvidia-700")?.gpuInstanceProfile == 19)
        #expect(function.type(withID: "nvidia-705")?.gpuInstanceProfile == nil)
        let report = try await host.apply(["NVIDIA_A100-1-5C"], manageMIG: false)
        #expect(report.finalPlan.parents.allSatisfy { $0.type == nil })
        #expect(report.created.isEmpty && report.prepared.isEmpty)
        #expect(host.mig(Self.a100) == .init(enabled: false))
        // A time-sliced type still is planned (and MIG mode left alone) either way.
        let timeSliced = try await host.apply(["NVIDIA_A100-10C"], manageMIG: false)
        #expect(timeSliced.converged)
        #expect(host.vGPUs(Self.a100) == [706: 4])
    }

    @Test("A restart of the program creates no instance and no vGPU twice; the host stays as it is")
    func restart() async throws {
        let host = try twoA100s()
        #expect(try await host.apply(["NVIDIA_A100-1-5C"]).converged)
        let before = try host.instances(Self.a100)
        try host.restart()
        let again = try await host.apply(["NVIDIA_A100-1-5C"])
        #expect(again.converged)
        #expect(again.prepared.isEmpty && again.created.isEmpty && again.removed.isEmpty)
        #expect(try host.instances(Self.a100) == before)
        #expect(host.vGPUs(Self.a100) == [700: 7] && host.vGPUs(Self.second) == [700: 7])
    }

    @Test("Another program's GPU instance is used where it fits the type, kept where it does not, and never destroyed")
    func foreignInstance() async throws {
        // Another program made a 2g.10gb instance (id 9, two slices) on the first GPU.
        let host = try twoA100s(nvml: "0000:41:00.0=a100-40gb:mig:gi=14#9;0000:42:00.0=a100-40gb")
        let first = try await host.apply(["NVIDIA_A100-1-5C"])
        // Five 1g.5gb fit beside it, not seven: said, not failed.
        #expect(first.converged)
        #expect(host.mig(Self.a100)?.instances == [14: 1, 19: 5])
        #expect(host.vGPUs(Self.a100) == [700: 5])
        #expect(first.warnings.contains { $0.hasPrefix("GPU \(Self.a100) has room for 5 GPU instances of profile 19, not 7") })
        // The config changes to 2g.10gb: this program's five 1g.5gb go with their vGPUs, the foreign one stays
        // and serves the type beside two new ones.
        let changed = try await host.apply(["NVIDIA_A100-2-10C"], removeForeign: true)
        #expect(changed.converged, "\(changed.failures) \(changed.unprepared)")
        #expect(try host.instances(Self.a100) == ["14#1", "14#2", "14#9"])
        #expect(host.vGPUs(Self.a100) == [701: 3])
        #expect(changed.prepared.contains(.init(card: Self.a100,
            "destroyed GPU instances 1, 2, 3, 4, 5 of GPU \(Self.a100): this program created them and no planned type needs them")))
        #expect(host.gpus.state.withLock(\.violations).isEmpty)
    }

    @Test("A vGPU in use keeps the GPU instances of its profile: none is destroyed until the VM lets go")
    func inUse() async throws {
        let host = try twoA100s()
        #expect(try await host.apply(["NVIDIA_A100-1-5C"]).converged)
        let held = try #require(host.gpus.state.withLock { $0.current.filter { $0.key.hasPrefix("0000:41") }.keys.sorted().first })
        host.gpus.setHolders([DeviceHolder(pid: 4242, command: "qemu-system-x86")], of: held)
        let blocked = try await host.apply(["NVIDIA_A100-2-10C"])
        #expect(!blocked.converged)
        #expect(host.gpus.state.withLock { $0.current[held] } == 700)
        #expect(host.mig(Self.a100)?.instances == [19: 7])
        #expect(host.vGPUs(Self.a100) == [700: 1])
        #expect(!blocked.prepared.contains { $0.card == Self.a100 && $0.description.hasPrefix("destroyed") })
        #expect(host.gpus.state.withLock(\.violations).isEmpty)
        // The VM exits: the vGPU goes, then this program's instances, then 2g.10gb comes.
        host.gpus.release(held, refusingClears: 0)
        let freed = try await host.apply(["NVIDIA_A100-2-10C"])
        #expect(freed.converged, "\(freed.failures) \(freed.unprepared)")
        #expect(host.mig(Self.a100)?.instances == [14: 3])
        #expect(host.vGPUs(Self.a100) == [701: 3])
    }

    @Test("After a reboot instances are made again (on Hopper MIG mode too), and the vGPUs come back")
    func reboot() async throws {
        let host = try Host([VendorProfiles.a100(Self.a100), VendorProfiles.h100(Self.second)], nvml: "0000:41:00.0=a100-40gb;0000:42:00.0=h100-80gb")
        let types = ["NVIDIA_A100-1-5C", "NVIDIA_H100-1-20C"]
        #expect(try await host.apply(types).converged)
        #expect(host.vGPUs(Self.a100) == [700: 7] && host.vGPUs(Self.second) == [801: 4])
        try host.reboot()
        #expect(host.mig(Self.a100) == .init(enabled: true) && host.mig(Self.second) == .init(enabled: false))
        let report = try await host.apply(types, boot: "boot-2")
        #expect(report.converged, "\(report.failures) \(report.unprepared)")
        #expect(host.mig(Self.a100) == .init(enabled: true, instances: [19: 7]))
        #expect(host.mig(Self.second) == .init(enabled: true, instances: [15: 4]))
        #expect(host.vGPUs(Self.a100) == [700: 7] && host.vGPUs(Self.second) == [801: 4])
        #expect(report.prepared.contains(.init(card: Self.second, "turned MIG mode on for GPU \(Self.second), for NVIDIA H100-1-20C")))
        #expect(!report.prepared.contains { $0.card == Self.a100 && $0.description.hasPrefix("turned") })
        #expect(VendorVGPURecord(path: host.recordPath).createdGPUInstances(on: Self.a100, bootID: "boot-2").count == 7)
    }

    @Test("MIG mode is turned on only for a GPU without vGPUs: one the plan empties first, one in use is reported")
    func gpuWithVGPUs() async throws {
        let host = try twoA100s()
        // Another program's 10C on each GPU; on the first a VM uses it.
        host.gpus.configure("0000:41:00.4", number: 706, holders: [DeviceHolder(pid: 4242, command: "qemu-system-x86")])
        host.gpus.configure("0000:42:00.4", number: 706)
        let report = try await host.apply(["NVIDIA_A100-1-5C"], removeForeign: true)
        #expect(!report.converged)
        #expect(report.unprepared[Self.a100]?.contains("its MIG mode is off, and it is turned on only for a GPU without vGPUs") == true)
        #expect(host.mig(Self.a100) == .init(enabled: false))
        #expect(host.gpus.state.withLock { $0.current["0000:41:00.4"] } == 706)
        // The second GPU's foreign vGPU went first, then MIG mode came on, in the same apply.
        #expect(report.unprepared[Self.second] == nil)
        #expect(host.mig(Self.second) == .init(enabled: true, instances: [19: 7]))
        #expect(host.vGPUs(Self.second) == [700: 7])
        #expect(host.gpus.state.withLock(\.violations).isEmpty)
    }

    @Test("A GPU that needs a reset for MIG mode is reported at every apply and never reset; nothing is created")
    func needsReset() async throws {
        let host = try twoA100s(nvml: "0000:41:00.0=a100-40gb:reset;0000:42:00.0=a100-40gb")
        for _ in 0..<2 {
            let report = try await host.apply(["NVIDIA_A100-1-5C"])
            #expect(!report.converged)
            #expect(report.unprepared[Self.a100]?.hasPrefix("GPU \(Self.a100) needs a reset for MIG mode to take effect") == true)
            #expect(host.vGPUs(Self.a100).isEmpty)
            #expect(host.vGPUs(Self.second) == [700: 7])
        }
        #expect(host.mig(Self.a100) == .init(enabled: false))
    }

    @Test("Before a GPU's functions are enabled, MIG mode goes on when it is to get a MIG-backed type: the remembered one, else every wanted one it has")
    func beforeFunctions() throws {
        func preparer(_ gpus: String) throws -> (MIGCardPreparer, String) {
            let library = try FakeNVML.library(gpus: gpus)
            return (MIGCardPreparer(libraryPath: library, record: VendorVGPURecord(path: nil), bootID: "boot-1"), library)
        }
        let h100 = "0000:42:00.0", migBacked = "NVIDIA_H100-1-20C", timeSliced = "NVIDIA_H100-8C"
        // (wanted, remembered) → whether MIG mode goes on.
        let cases: [([String], String?, Bool)] = [
            ([migBacked], nil, true), (["NVIDIA_A100-4C", "nvidia-801"], nil, true), ([timeSliced], nil, false),
            ([migBacked, timeSliced], nil, false), ([timeSliced, migBacked], migBacked, true), ([migBacked, timeSliced], timeSliced, false),
            // A remembered type no longer wanted does not decide.
            ([timeSliced], migBacked, false), (["GRID_T4-1B"], nil, false),
        ]
        for (wanted, remembered, turnsOn) in cases {
            let (preparer, library) = try preparer("\(h100)=h100-80gb")
            let preparation = preparer.prepareBeforeParents(card: h100, wanted: wanted, remembered: remembered)
            #expect(FakeNVML.migState(of: library, gpu: h100)?.enabled == turnsOn, "\(wanted) \(remembered ?? "-")")
            #expect(preparation.done == (turnsOn ? [.init(card: h100, "turned MIG mode on for GPU \(h100) before enabling its virtual functions, for NVIDIA H100-1-20C")] : []))
            #expect(preparation.problems.isEmpty && preparation.changed.isEmpty)
        }
        // A GPU that needs a reset is reported, not reset; one already in MIG mode, or one NVML does not know, is left alone.
        let (ampere, ampereLibrary) = try preparer("0000:41:00.0=a100-40gb:reset")
        let reset = ampere.prepareBeforeParents(card: "0000:41:00.0", wanted: ["NVIDIA_A100-1-5C"], remembered: nil)
        #expect(reset.problems["0000:41:00.0"]?.hasPrefix("GPU 0000:41:00.0 needs a reset for MIG mode to take effect") == true)
        #expect(FakeNVML.migState(of: ampereLibrary, gpu: "0000:41:00.0")?.enabled == false)
        let (on, _) = try preparer("\(h100)=h100-80gb:mig")
        #expect(on.prepareBeforeParents(card: h100, wanted: [migBacked], remembered: nil) == CardPreparation())
        #expect(on.prepareBeforeParents(card: "0000:99:00.0", wanted: [migBacked], remembered: nil) == CardPreparation())
    }
}
