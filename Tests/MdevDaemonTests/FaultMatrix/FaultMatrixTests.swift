import Clocks
import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import SystemPackage
import Testing

@testable import MdevDaemon

/// The proof of the engine: every write of a converging pass, on four kinds of host, from empty and from a
/// half-filled start, fails once in every way a kernel fails it (seven errnos, the parent vanishing, the
/// process killed), and every run still reaches the layout of the fault-free run.
@Suite("Fault matrix", .serialized)
struct FaultMatrixTests {
    /// One host and config, from one start.
    struct Scenario: Sendable, CustomStringConvertible {
        var name: String
        var kernel: @Sendable () -> SimulatedKernel
        var gpus: @Sendable () -> SimulatedVendorGPUs?
        var types: [String]
        /// The config a first daemon applied before it was killed halfway, for a half-filled start; nil: empty.
        var halfFilledFrom: [String]?

        var description: String { name }
    }

    static let docsTypes = ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"]
    static let scenarios: [Scenario] = {
        let t4 = { @Sendable in ExampleHosts.threeT4().kernel }
        let mtty = { @Sendable in ExampleHosts.mtty().kernel }
        let a16 = { @Sendable in ExampleHosts.a16().kernel }
        let noGPUs = { @Sendable () -> SimulatedVendorGPUs? in nil }
        let l40s = { @Sendable () -> SimulatedVendorGPUs? in
            SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0"), VendorProfiles.l40s("0000:4e:00.0")])
        }
        let none = { @Sendable in SimulatedKernel(parents: []) }
        let a16Types = ["NVIDIA_A16-8Q", "nvidia-690"]
        let l40sTypes = ["NVIDIA_L40S-4Q", "nvidia-1156"]
        return [
            Scenario(name: "three T4, KubeVirt docs' list, from empty", kernel: t4, gpus: noGPUs, types: docsTypes),
            Scenario(name: "three T4, half filled", kernel: t4, gpus: noGPUs, types: docsTypes, halfFilledFrom: docsTypes),
            Scenario(name: "mtty shared pool, from empty", kernel: mtty, gpus: noGPUs, types: ["mtty-1"]),
            Scenario(name: "mtty shared pool, half filled with the other type", kernel: mtty, gpus: noGPUs, types: ["mtty-1"],
                     halfFilledFrom: ["mtty-2"]),
            Scenario(name: "A16 in mdev mode, from empty", kernel: a16, gpus: noGPUs, types: a16Types),
            Scenario(name: "A16 in mdev mode, half filled", kernel: a16, gpus: noGPUs, types: a16Types, halfFilledFrom: a16Types),
            Scenario(name: "two L40S in vendor mode, from empty", kernel: none, gpus: l40s, types: l40sTypes),
            Scenario(name: "two L40S in vendor mode, half filled", kernel: none, gpus: l40s, types: l40sTypes, halfFilledFrom: l40sTypes),
        ]
    }()

    static let faults: [Fault] =
        [Errno.resourceBusy, .noSpace, .ioError, .operationNotSupportedByDevice, .invalidArgument, .fileExists, .notPermitted].map(Fault.errno)
        + [.vanish, .kill]

    /// The host of one run: the simulated kernel and GPUs, and the vGPU record's file (it survives a kill).
    final class World: Sendable {
        let kernel: SimulatedKernel
        let gpus: SimulatedVendorGPUs?
        let recordPath: String
        /// What a vanished card was, to bring it back.
        let vanished = LockedValue<(parents: [SimulatedKernel.ParentSpec], gpus: [SimulatedVendorGPUs.GPU])>(([], []))
        /// How many devices went with it.
        let lost = LockedValue(0)

        init(kernel: SimulatedKernel, gpus: SimulatedVendorGPUs?, recordPath: String) {
            self.kernel = kernel
            self.gpus = gpus
            self.recordPath = recordPath
        }

        /// A copy of `other` (its kernel and GPU states, its record file) at `recordPath`.
        convenience init(copying other: World, recordPath: String) {
            let kernel = SimulatedKernel(parents: [])
            kernel.state.withLock { $0 = other.kernel.state.withLock { $0 } }
            let gpus = other.gpus.map { source in
                let copy = SimulatedVendorGPUs(gpus: [])
                copy.state.withLock { $0 = source.state.withLock { $0 } }
                return copy
            }
            if let data = FileManager.default.contents(atPath: other.recordPath) {
                FileManager.default.createFile(atPath: recordPath, contents: data)
            }
            self.init(kernel: kernel, gpus: gpus, recordPath: recordPath)
        }

        /// Takes away the card of `parent`: every parent of it, or the GPU of a function in vendor mode.
        func vanish(_ parent: String) {
            let specs = kernel.state.withLock { state in state.parents.filter { $0.name == parent || $0.card == parent } }
            let card = specs.first { $0.name == parent }?.card ?? parent
            let cardSpecs = kernel.state.withLock { state in state.parents.filter { $0.name == card || $0.card == card } }
            let names = Set(cardSpecs.map(\.name))
            let gpu = gpus?.state.withLock { $0.gpus.first { $0.functions.contains(parent) } }
            let vgpus = gpu.map { gpu in gpus?.state.withLock { state in gpu.functions.filter { state.current[$0] != nil }.count } ?? 0 } ?? 0
            lost.withLock { $0 += kernel.devices.filter { names.contains($0.parent) }.count + vgpus }
            for spec in cardSpecs { kernel.removeParent(named: spec.name) }
            if let gpu { gpus?.removeGPU(named: gpu.name) }
            vanished.withLock { $0 = (cardSpecs, gpu.map { [$0] } ?? []) }
        }

        /// Brings a vanished card back, empty (as its driver registers it again); returns its parents' names.
        @discardableResult
        func comeBack() -> Set<String> {
            let (parents, gpus) = vanished.withLock { state in
                defer { state = ([], []) }
                return state
            }
            for spec in parents { kernel.addParent(spec) }
            for gpu in gpus { self.gpus?.addGPU(gpu) }
            return Set(parents.map(\.name) + gpus.flatMap(\.functions))
        }

        var layout: [String] { kernel.layout.sorted() + (gpus?.layout ?? []) }
        var deviceUUIDs: Set<UUID> { Set(kernel.devices.map(\.uuid)) }
        var record: VendorVGPURecord { VendorVGPURecord(path: recordPath) }
    }

    /// A daemon over `world`, its writes through a ``FaultyHost``.
    func daemon(_ world: World, types: [String], fault: Fault? = nil, at index: Int = -1) -> (DaemonHarness, FaultyHost) {
        let backend = world.gpus.map { VendorVGPUBackend(files: $0, record: VendorVGPURecord(path: world.recordPath)) { _ in } }
        let faulty = LockedValue<FaultyHost?>(nil)
        let harness = DaemonHarness(
            kernel: world.kernel, types: types, vendor: backend,
            wrapHost: { host in
                let wrapped = FaultyHost(host, fault: fault, at: index, vanish: { world.vanish($0) }, beforeRead: { _ = world.comeBack() })
                faulty.withLock { $0 = wrapped }
                return wrapped
            })
        return (harness, faulty.withLock { $0! })
    }

    /// Advances the daemon's clock through every retry until it rests with nothing scheduled.
    func settle(_ daemon: DaemonHarness) async throws {
        for _ in 0..<40 {
            guard case .backingOff(let until) = await daemon.reconciler.phase else { return }
            let wait = daemon.clock.now.duration(to: until) + .milliseconds(1)
            try await daemon.pass { await daemon.clock.advance(by: wait) }
        }
        Issue.record("the daemon did not settle in 40 retries")
    }

    func temporaryPath() -> String {
        MdevTestSupport.temporaryPath("mdev-fault-matrix-" + UUID().uuidString + ".json")
    }

    /// The start of a scenario: empty, or what a daemon left when it was killed halfway through filling it.
    func start(_ scenario: Scenario) async throws -> World {
        let world = World(kernel: scenario.kernel(), gpus: scenario.gpus(), recordPath: temporaryPath())
        guard let types = scenario.halfFilledFrom else { return world }
        let (probe, probeHost) = daemon(World(copying: world, recordPath: temporaryPath()), types: types)
        try await probe.start()
        try await settle(probe)
        let writes = probeHost.log.withLock { $0.attempts.count }
        let (filler, _) = daemon(world, types: types, fault: .kill, at: writes / 2)
        try await filler.start()
        try await filler.stop()
        try await probe.stop()
        return world
    }

    struct Run: Sendable {
        var layout: [String]
        var devices: Set<UUID>
        var attempts: Int
        var removed: [UUID]
        var failedErrnos: [String?]
        /// Devices that went with a vanished card.
        var lost: Int
    }

    /// One run from `start` with `fault` at write `index`, to rest; a killed daemon is followed by a new one.
    func run(from start: World, types: [String], fault: Fault?, at index: Int) async throws -> (Run, World) {
        let world = World(copying: start, recordPath: temporaryPath())
        defer { try? FileManager.default.removeItem(atPath: world.recordPath) }
        let (first, host) = daemon(world, types: types, fault: fault, at: index)
        try await first.start()
        var attempts = 0
        var removed: [UUID] = []
        var final = first
        if case .kill = fault {
            try await first.stop()
            attempts = host.log.withLock { $0.attempts.count }
            removed = host.log.withLock { $0.removed }
            let (second, secondHost) = daemon(world, types: types)
            try await second.start()
            try await settle(second)
            final = second
            attempts += secondHost.log.withLock { $0.attempts.count }
            removed += secondHost.log.withLock { $0.removed }
        } else {
            try await settle(first)
            attempts = host.log.withLock { $0.attempts.count }
            removed = host.log.withLock { $0.removed }
        }
        let failed = final.messageIDs(of: .failed).map { $0.metadata[JournalField.errno] }
        if case .kill = fault {} else { try await first.stop() }
        if final !== first { try await final.stop() }
        let run = Run(
            layout: world.layout, devices: world.deviceUUIDs, attempts: attempts, removed: removed, failedErrnos: failed,
            lost: world.lost.withLock { $0 })
        return (run, world)
    }

    @Test("Every write fails once in every way, on four hosts from two starts; every run reaches the fault-free layout")
    func faultMatrix() async throws {
        var injected = 0
        var converged = 0
        var misses: [String] = []
        for scenario in Self.scenarios {
            let start = try await start(scenario)
            defer { try? FileManager.default.removeItem(atPath: start.recordPath) }
            let (clean, _) = try await run(from: start, types: scenario.types, fault: nil, at: -1)
            #expect(clean.attempts > 0, "\(scenario): the fault-free pass writes nothing")
            #expect(clean.failedErrnos.isEmpty, "\(scenario): the fault-free run failed: \(clean.failedErrnos)")
            for index in 0..<clean.attempts {
                for fault in Self.faults {
                    injected += 1
                    let (run, world) = try await run(from: start, types: scenario.types, fault: fault, at: index)
                    var problems: [String] = []
                    if run.layout != clean.layout { problems.append("layout \(run.layout), not \(clean.layout)") }
                    if start.gpus == nil && run.devices != clean.devices { problems.append("other device UUIDs") }
                    let handles = world.record.configuredFunctions.values.map(\.handle)
                    if Set(handles).count != handles.count { problems.append("a vGPU handle twice in the record") }
                    let wronglyRemoved = Set(run.removed).intersection(clean.devices)
                    if !wronglyRemoved.isEmpty { problems.append("removed \(wronglyRemoved.count) devices the fault-free run keeps") }
                    switch fault {
                    case .errno(let errno):
                        if run.failedErrnos != [errno.symbolicName] { problems.append("journal errnos \(run.failedErrnos)") }
                        if run.attempts > clean.attempts + 1 { problems.append("\(run.attempts) writes, policy allows \(clean.attempts + 1)") }
                    case .vanish:
                        // The write's ENODEV first; other parents of the card written before it was back find it gone.
                        if run.failedErrnos.first != "ENODEV" || !run.failedErrnos.dropFirst().allSatisfy({ $0 == "ENOENT" }) {
                            problems.append("journal errnos \(run.failedErrnos)")
                        }
                        // The devices that went with the card are made again once it is back.
                        if run.attempts > clean.attempts + 1 + run.lost {
                            problems.append("\(run.attempts) writes, policy allows \(clean.attempts + 1 + run.lost)")
                        }
                    case .kill:
                        if run.attempts > clean.attempts { problems.append("\(run.attempts) writes after a restart, \(clean.attempts) without") }
                    }
                    if problems.isEmpty {
                        converged += 1
                    } else {
                        misses.append("\(scenario), \(fault) at write \(index): " + problems.joined(separator: "; "))
                    }
                }
            }
        }
        print("fault matrix: \(injected) faults injected, \(converged) converged")
        if !misses.isEmpty {
            try misses.joined(separator: "\n").write(toFile: NSTemporaryDirectory() + "mdev-fault-matrix-misses.txt", atomically: true, encoding: .utf8)
        }
        #expect(injected > 0)
        #expect(misses.isEmpty, "\(misses.count) misses, the first: \(misses.prefix(3).joined(separator: "\n"))")
    }
}
