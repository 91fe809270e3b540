import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

@testable import MdevDaemon

/// The daemon with MIG-backed vGPU types: the card preparer runs only while the config in force sets
/// `mdevReconciler.manageMIG`, what it does is journaled with the GPU, and a restarted daemon finds the GPU
/// ready and makes nothing twice.
@Suite("The daemon with MIG-backed vGPU types", .timeLimit(.minutes(1)))
struct MIGDaemonTests {
    static let gpu = "0000:41:00.0"

    /// The daemon over one A100 in vendor-specific mode whose NVML is the fake copy `library`.
    func daemon(_ gpus: SimulatedVendorGPUs, library: String, recordPath: String, settings: ReconcilerSettings) -> DaemonHarness {
        let record = VendorVGPURecord(path: recordPath)
        let backend = VendorVGPUBackend(files: gpus, record: record, catalog: NVMLVGPUTypeCatalog(path: library)) { _ in }
        return DaemonHarness(
            kernel: SimulatedKernel(parents: []), types: ["NVIDIA_A100-1-5C"], vendor: backend, settings: settings,
            cardPreparer: MIGCardPreparer(libraryPath: library, record: record, bootID: "boot-1"))
    }

    @Test("manageMIG turned on by a reload makes the GPU ready and fills it; a restarted daemon makes nothing twice")
    func reloadAndRestart() async throws {
        let library = LockedValue(try FakeNVML.library(gpus: "\(Self.gpu)=a100-40gb"))
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.a100(Self.gpu)]) { gpu in FakeNVML.migState(of: library.withLock { $0 }, gpu: gpu) }
        let recordPath = temporaryPath("mdev-mig-daemon-" + UUID().uuidString + ".json")
        defer { try? FileManager.default.removeItem(atPath: recordPath) }

        // Without manageMIG the type is not planned on a GPU whose MIG mode is off: nothing happens.
        let first = daemon(gpus, library: library.withLock { $0 }, recordPath: recordPath, settings: .init())
        try await first.start()
        #expect(gpus.layout.isEmpty)
        #expect(first.messageIDs(of: .gpuPrepared).isEmpty)
        #expect(FakeNVML.migState(of: library.withLock { $0 }, gpu: Self.gpu) == .init(enabled: false))

        first.nextConfiguration.value = .success(DaemonHarness.configuration(["NVIDIA_A100-1-5C"], settings: .init(manageMIG: true)))
        try await first.pass { await first.reconciler.receive(.reloadRequested) }
        #expect(gpus.layout.count == 7 && gpus.layout.allSatisfy { $0.hasSuffix(": 700") }, "\(first.logs.all.map(\.message).suffix(20))")
        let prepared = first.messageIDs(of: .gpuPrepared)
        #expect(prepared.map(\.message) == [
            "turned MIG mode on for GPU \(Self.gpu), for NVIDIA A100-1-5C",
            "created 7 GPU instances of profile 19 on GPU \(Self.gpu) for NVIDIA A100-1-5C; it has 7",
        ])
        #expect(prepared.allSatisfy { $0.metadata[JournalField.card] == Self.gpu })
        #expect(first.messageIDs(of: .created).count == 7)
        // Journaled as it happens: the GPU made ready before the functions it made ready are configured.
        let order = first.logs.all.compactMap { entry in
            entry.messageID == JournalEvent.gpuPrepared.messageID ? "prepared" : entry.messageID == JournalEvent.created.messageID ? "created" : nil
        }
        #expect(order == ["prepared", "prepared"] + Array(repeating: "created", count: 7))
        #expect(await first.host.status.parents.allSatisfy { $0.toCreate == 0 && $0.toRemove == 0 })
        try await first.stop()

        // The daemon starts again (NVML loaded afresh): the GPU is ready, nothing is made again.
        let restarted = try FakeNVML.restarted(library.withLock { $0 })
        library.withLock { $0 = restarted }
        let second = daemon(gpus, library: restarted, recordPath: recordPath, settings: .init(manageMIG: true))
        try await second.start()
        #expect(second.messageIDs(of: .gpuPrepared).isEmpty)
        #expect(second.messageIDs(of: .created).isEmpty)
        #expect(FakeNVML.migState(of: restarted, gpu: Self.gpu) == .init(enabled: true, instances: [19: 7]))
        #expect(gpus.layout.count == 7)
        try await second.stop()
    }

    @Test("A GPU that needs a reset for MIG mode: the status says so by GPU, the daemon does not count the pass as converged")
    func needsReset() async throws {
        let library = try FakeNVML.library(gpus: "\(Self.gpu)=a100-40gb:reset")
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.a100(Self.gpu)]) { FakeNVML.migState(of: library, gpu: $0) }
        let daemon = daemon(gpus, library: library, recordPath: temporaryPath("mdev-mig-daemon-" + UUID().uuidString + ".json"),
                            settings: .init(manageMIG: true))
        try await daemon.start()
        #expect(await daemon.host.metrics.text.contains("\nmdev_reconciler_unprepared_gpus 1\n"))
        let status = await daemon.host.status
        #expect(status.unprepared?[Self.gpu]?.hasPrefix("GPU \(Self.gpu) needs a reset for MIG mode to take effect") == true)
        #expect(gpus.layout.isEmpty)
        #expect(daemon.logs.all.contains { $0.level == .warning && $0.message.hasPrefix("GPU \(Self.gpu) needs a reset") })
        #expect(await daemon.host.counters.lastConverged == nil)
        try await daemon.stop()
    }

    @Test("Enabling a GPU's virtual functions with manageMIG: MIG mode on first for a GPU that is to get a MIG-backed type, journaled")
    func migModeBeforeFunctions() async throws {
        let library = try FakeNVML.library(gpus: "\(Self.gpu)=a100-40gb")
        let gpus = SimulatedVendorGPUs(gpus: []) { FakeNVML.migState(of: library, gpu: $0) }
        let record = VendorVGPURecord(path: nil)
        let backend = VendorVGPUBackend(files: gpus, record: record, catalog: NVMLVGPUTypeCatalog(path: library)) { _ in }
        // The stand-in enabler: NVML's MIG mode as sriov-manage would find it, then the functions appear.
        let migAtEnable = Recorder<Bool?>()
        let daemon = DaemonHarness(
            kernel: SimulatedKernel(parents: []), types: ["NVIDIA_A100-1-5C"], vendor: backend,
            settings: .init(enableVirtualFunctions: true, manageMIG: true),
            enableVirtualFunctions: { names, before in
                guard names == nil, (try? gpus.functions())?.isEmpty == true else { return [] }
                before(Self.gpu)
                migAtEnable.record(FakeNVML.migState(of: library, gpu: Self.gpu)?.enabled)
                gpus.addGPU(VendorProfiles.a100(Self.gpu))
                return [VirtualFunctionEnabler.Outcome(gpu: Self.gpu, result: .enabled)]
            },
            cardPreparer: MIGCardPreparer(libraryPath: library, record: record, bootID: "boot-1"))
        try await daemon.start()
        #expect(migAtEnable.all == [true])
        #expect(daemon.messageIDs(of: .gpuPrepared).map(\.message) == [
            "turned MIG mode on for GPU \(Self.gpu) before enabling its virtual functions, for NVIDIA A100-1-5C",
            "created 7 GPU instances of profile 19 on GPU \(Self.gpu) for NVIDIA A100-1-5C; it has 7",
        ])
        #expect(gpus.layout.count == 7)
        try await daemon.stop()
    }
}
