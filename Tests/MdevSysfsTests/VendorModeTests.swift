import Foundation
import MdevModel
import MdevTestSupport
import SystemPackage
import Testing

@testable import MdevSysfs

/// NVIDIA's vendor-specific mode: the backend over simulated GPUs that enforce the driver's rules.
@Suite("NVIDIA vendor-specific mode")
struct VendorModeTests {
    /// The backend over `gpus`, its sleeps recorded instead of slept.
    final class Host: Sendable {
        let gpus: SimulatedVendorGPUs
        let backend: VendorVGPUBackend
        let sleeps: Recorder<Duration>

        convenience init(_ gpus: [SimulatedVendorGPUs.GPU], record: VendorVGPURecord = VendorVGPURecord(path: nil)) {
            self.init(SimulatedVendorGPUs(gpus: gpus), record: record)
        }

        init(_ gpus: SimulatedVendorGPUs, record: VendorVGPURecord) {
            self.gpus = gpus
            let sleeps = Recorder<Duration>()
            self.sleeps = sleeps
            backend = VendorVGPUBackend(files: gpus, record: record) { duration in sleeps.record(duration) }
        }

        func applier(_ types: [String], removeForeign: Bool = false) -> Applier {
            Applier(host: backend) { inventory in
                Planner.plan(PlanningInput(
                    inventory: inventory, wanted: WantedTypes(types: types, source: .global), hostKey: HostKey(nodeName: "node01"),
                    settings: ReconcilerSettings(removeForeignDevices: removeForeign), nodeName: "node01"))
            }
        }

        /// `type ×count` per GPU.
        var perGPU: [String] {
            gpus.state.withLock { state in
                state.gpus.map { gpu in
                    let counts = Dictionary(grouping: gpu.functions.compactMap { state.current[$0] }, by: { $0 })
                        .map { "\($0.key) ×\($0.value.count)" }.sorted()
                    return "\(gpu.name): " + (counts.isEmpty ? "-" : counts.joined(separator: ", "))
                }
            }
        }
    }

    @Test("Reading a free L40S: 32 functions on one card, the whole catalog, each type creatable once per function")
    func readsFreeGPU() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        let inventory = try host.backend.readInventory().inventory
        #expect(inventory.parents.count == 32)
        #expect(inventory.parents.first?.name == "0000:3d:00.4")
        #expect(inventory.parents.allSatisfy { $0.card == "0000:3d:00.0" && $0.interface == .nvidiaVendorSpecific && $0.instanceLimit == 1 })
        let types = inventory.parents[0].types
        #expect(types.count == 23)
        #expect(types.allSatisfy { $0.availableInstances == 1 })
        #expect(inventory.parents[0].type(matching: "NVIDIA_L40S-2Q")?.id == "nvidia-1148")
        #expect(inventory.parents[0].type(withID: "nvidia-1148")?.maxInstances == 24)
        #expect(inventory.parents[0].type(withID: "nvidia-1156")?.maxInstances == 1)
        #expect(inventory.parents[0].modelName == "NVIDIA L40S")
    }

    @Test("The plan fills a GPU as far as its framebuffer allows, one vGPU per function", arguments: [
        ("nvidia-1148", 1148, 24), ("NVIDIA_L40S-2Q", 1148, 24), ("NVIDIA_L40S-48Q", 1156, 1), ("nvidia-1153", 1153, 4),
    ])
    func fillsGPU(reference: String, number: Int, count: Int) async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        let applier = host.applier([reference])
        let plan = applier.planner(try host.backend.readInventory().inventory)
        #expect(plan.parents.reduce(0) { $0 + $1.create.count } == count)
        let report = try await applier.apply()
        #expect(report.converged, "\(report.failures)")
        #expect(host.perGPU == ["0000:3d:00.0: \(number) ×\(count)"])
        // The remaining functions list only the header: the GPU is full.
        let last = try host.gpus.creatableTypes(of: "0000:3d:04.3")
        #expect(count == 32 || last == "ID    : vGPU Name\n")
    }

    @Test("Config entries name a type the same way in both modes: nvidia-558 or NVIDIA_A40-2Q (guide layout)", arguments: [
        "nvidia-558", "NVIDIA_A40-2Q",
    ])
    func sameNamesInBothModes(reference: String) async throws {
        let host = Host([VendorProfiles.a40("0000:41:00.0")])
        #expect(try await host.applier([reference]).apply().converged)
        #expect(host.perGPU == ["0000:41:00.0: 558 ×24"])
        #expect(host.gpus.state.withLock { $0.current["0000:41:00.4"] } == 558)
    }

    @Test("Two identical GPUs are one model: the ring gives each a type, each is filled")
    func twoGPUs() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0"), VendorProfiles.l40s("0000:4e:00.0")])
        #expect(try await host.applier(["nvidia-1156", "nvidia-1148"]).apply().converged)
        #expect(host.perGPU == ["0000:3d:00.0: 1156 ×1", "0000:4e:00.0: 1148 ×24"])
        // Deterministic and stable: applying again writes nothing.
        let writes = host.gpus.state.withLock { $0.writes.count }
        #expect(try await host.applier(["nvidia-1156", "nvidia-1148"]).apply().created.isEmpty)
        #expect(host.gpus.state.withLock { $0.writes.count } == writes)
    }

    @Test("A config change to another size clears this program's functions, then fills the new size")
    func switchesSize() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        #expect(try await host.applier(["nvidia-1148"]).apply().converged)
        let report = try await host.applier(["NVIDIA_L40S-4Q"]).apply()
        #expect(report.converged, "\(report.failures)")
        #expect(report.removed.count == 24)
        #expect(report.created.count == 12)
        #expect(host.perGPU == ["0000:3d:00.0: 1150 ×12"])
    }

    @Test("A function a VM holds is never cleared; the rest follow the plan; after the VM exits (EPERM for a while) it converges")
    func inUseFunction() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        #expect(try await host.applier(["nvidia-1148"]).apply().converged)
        let vm = DeviceHolder(pid: 4242, command: "qemu-system-x86")
        host.gpus.setHolders([vm], of: "0000:3d:00.4")
        let blocked = try await host.applier(["nvidia-1150"]).apply()
        #expect(!blocked.converged)
        #expect(blocked.finalPlan.blockedParents.map(\.parent) == ["0000:3d:00.4"])
        #expect(host.gpus.state.withLock { $0.current["0000:3d:00.4"] } == 1148)
        #expect(host.gpus.state.withLock { $0.violations }.isEmpty)
        // The VM exits; the driver refuses the first two clears with EPERM.
        host.gpus.release("0000:3d:00.4", refusingClears: 2)
        let converged = try await host.applier(["nvidia-1150"]).apply()
        #expect(converged.converged, "\(converged.failures)")
        #expect(host.perGPU == ["0000:3d:00.0: 1150 ×12"])
        #expect(host.sleeps.all == [.milliseconds(500), .seconds(1)])
    }

    @Test("EPERM beyond the retries is reported as a failure of that function, and a later apply converges")
    func persistentEPERM() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        #expect(try await host.applier(["nvidia-1156"]).apply().converged)
        host.gpus.release("0000:3d:00.4", refusingClears: 6)
        let failed = try await host.applier(["nvidia-1148"]).apply()
        #expect(failed.failures.map(\.parent) == ["0000:3d:00.4"])
        #expect(failed.failures.first?.message.contains("Operation not permitted") == true)
        #expect(host.sleeps.count == 5)
        #expect(try await host.applier(["nvidia-1148"]).apply().converged)
        #expect(host.perGPU == ["0000:3d:00.0: 1148 ×24"])
    }

    @Test("A refused type write (EIO: a MIG-backed type without a GPU instance) leaves the function free and is reported")
    func refusedWrite() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        host.gpus.state.withLock { $0.writeFaults["0000:3d:00.4"] = [.ioError] }
        let report = try await host.applier(["nvidia-1156"]).apply()
        #expect(report.failures.map(\.parent) == ["0000:3d:00.4"])
        #expect(host.gpus.state.withLock { $0.current["0000:3d:00.4"] } == nil)
        #expect(try await host.applier(["nvidia-1156"]).apply().converged)
    }

    @Test("A function configured by someone else after the reading is not overwritten")
    func raceWithAnotherProgram() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        let applier = host.applier(["nvidia-1145"])
        let reading = try host.backend.readInventory()
        let plan = applier.planner(reading.inventory)
        #expect(plan.parents.first?.create.count == 1)
        host.gpus.configure("0000:3d:00.4", number: 1146)
        let report = applier.execute(plan, from: reading)
        #expect(!report.created.contains { plan.parents.first!.create.contains($0) })
        #expect(host.gpus.state.withLock { $0.current["0000:3d:00.4"] } == 1146)
        // The create itself refuses a function that has a type, should it get that far.
        #expect(throws: VendorVGPUError.alreadyConfigured(function: "0000:3d:00.4", number: 1146)) {
            try host.backend.create(UUID(), type: "nvidia-1145", at: reading.locations["0000:3d:00.4"]!)
        }
    }

    @Test("Another program's vGPUs: kept when wanted, blocking otherwise, removed only with removeForeignDevices")
    func foreignFunctions() async throws {
        let host = Host([VendorProfiles.l40s("0000:3d:00.0")])
        host.gpus.configure("0000:3d:00.4", number: 1148)
        host.gpus.configure("0000:3d:00.5", number: 1148)
        // Wanted: they are adopted and the GPU is filled around them.
        #expect(try await host.applier(["nvidia-1148"]).apply().converged)
        #expect(host.perGPU == ["0000:3d:00.0: 1148 ×24"])
        // Seen free first (its catalog learnt), then given a vGPU by another program.
        let other = Host([VendorProfiles.l40s("0000:3d:00.0")])
        _ = try other.backend.readInventory()
        other.gpus.configure("0000:3d:00.4", number: 1148)
        let blocked = try await other.applier(["nvidia-1156"]).apply()
        #expect(blocked.finalPlan.blockedParents.first?.blockers.first?.kind == .foreign)
        #expect(other.gpus.state.withLock { $0.current["0000:3d:00.4"] } == 1148)
        #expect(try await other.applier(["nvidia-1156"], removeForeign: true).apply().converged)
        #expect(other.perGPU == ["0000:3d:00.0: 1156 ×1"])
    }

    @Test("The record survives a restart; losing it makes configured functions foreign, never reconfigured")
    func record() async throws {
        let directory = try SysfsTreeBuilder.temporary()
        defer { directory.removeAll() }
        let path = directory.root + "/var/lib/mdev-reconciler/nvidia-vgpu.json"
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        #expect(try await Host(gpus, record: VendorVGPURecord(path: path)).applier(["nvidia-1148"]).apply().converged)
        let saved = try FileSystem.readText(path)
        #expect(saved.contains("\"0000:3d:00.4\""))
        #expect(saved.contains("NVIDIA L40S-48Q"))

        // A restart with the record: the functions are ours, so a new size replaces them.
        #expect(try await Host(gpus, record: VendorVGPURecord(path: path)).applier(["nvidia-1153"]).apply().converged)
        #expect(gpus.layout.count == 4)

        // The record lost: the functions are another program's; nothing is written, whatever is wanted.
        try FileManager.default.removeItem(atPath: path)
        let writes = gpus.state.withLock { $0.writes.count }
        for wanted in [["nvidia-1153"], ["nvidia-1148"]] {
            let report = try await Host(gpus, record: VendorVGPURecord(path: path)).applier(wanted).apply()
            #expect(report.created.isEmpty && report.removed.isEmpty)
        }
        #expect(gpus.state.withLock { $0.writes.count } == writes)

        // A corrupt record is reported and treated as lost.
        try "{ not json".write(toFile: path, atomically: false, encoding: .utf8)
        let reading = try Host(gpus, record: VendorVGPURecord(path: path)).backend.readInventory()
        #expect(reading.warnings.contains("the vGPU record \(path) is not valid JSON; vGPUs it listed are treated as another program's"))
        // JSON that lacks a field: one line naming the field, never a DecodingError dump.
        try #"{"version": 1, "configured": {"0000:41:00.4": {"type": "nvidia-1153"}}}"#.write(toFile: path, atomically: false, encoding: .utf8)
        let lacking = try Host(gpus, record: VendorVGPURecord(path: path)).backend.readInventory()
        #expect(lacking.warnings.contains("the vGPU record \(path) lacks 'handle' at configured.0000:41:00.4; vGPUs it listed are treated as another program's"))
        #expect(reading.inventory.devices.count == 4)
    }

    @Test("A function whose files cannot be read is left out with a warning, not gone; writes still reach it")
    func unreadableFunction() async throws {
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        let files = FlakyFiles(gpus)
        let backend = VendorVGPUBackend(files: files, record: VendorVGPURecord(path: nil)) { _ in }
        let host = CombinedHost(mdev: SimulatedKernel(parents: []), vendor: backend)
        let full = try host.readInventory()
        let plan = Host(gpus, record: VendorVGPURecord(path: nil)).applier(["nvidia-1156"]).planner(full.inventory)
        files.unreadable.withLock { $0 = ["0000:3d:00.4"] }
        let reading = try host.readParents(["0000:3d:00.4", "0000:3d:00.5"])
        #expect(reading.inventory.parents.map(\.name) == ["0000:3d:00.5"])
        #expect(reading.gone.isEmpty)
        #expect(reading.warnings.contains { $0.hasPrefix("virtual function 0000:3d:00.4 left out") })
        // The planned write goes, through the location of the reading the plan was made from, to the vendor backend.
        try host.create(plan.parents[0].create[0].uuid, type: "nvidia-1156", at: full.locations["0000:3d:00.4"]!)
        #expect(gpus.state.withLock { $0.current["0000:3d:00.4"] } == 1156)
    }

    @Test("A partial reading of functions an event named; names that are not functions are gone")
    func partialReading() async throws {
        let host = Host([VendorProfiles.blackwell()])
        let reading = try host.backend.readParents(["0001:04:00.2", "0001:04:00.3", "0000:99:00.0"])
        #expect(reading.inventory.parents.map(\.name) == ["0001:04:00.2", "0001:04:00.3"])
        #expect(reading.gone == ["0000:99:00.0"])
        #expect(reading.inventory.parents.allSatisfy { $0.card == "0001:04:00.0" })
    }
}


/// Files whose `creatable_vgpu_types` cannot be read for the functions named in `unreadable`.
final class FlakyFiles: VendorVGPUFiles {
    let base: SimulatedVendorGPUs
    let unreadable = LockedValue<Set<String>>([])

    init(_ base: SimulatedVendorGPUs) { self.base = base }

    func functions() throws(SysfsError) -> [VendorFunction] { try base.functions() }
    func function(named name: String) -> VendorFunction? { base.function(named: name) }
    func creatableTypes(of function: VendorFunction) throws -> String {
        if unreadable.withLock({ $0.contains(function.name) }) {
            throw SysfsError(.read, "/sys/bus/pci/devices/\(function.name)/nvidia/creatable_vgpu_types", .ioError)
        }
        return try base.creatableTypes(of: function)
    }
    func currentType(of function: VendorFunction) throws -> String { try base.currentType(of: function) }
    func setCurrentType(_ text: String, of function: VendorFunction) throws { try base.setCurrentType(text, of: function) }
    func holders(of functions: [VendorFunction]) throws -> [String: [DeviceHolder]] { try base.holders(of: functions) }
}
