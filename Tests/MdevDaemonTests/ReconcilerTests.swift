import Clocks
import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

@testable import MdevDaemon

/// The whole daemon in-process against the simulated kernel, on a test clock: no test sleeps.
@Suite("The reconciler actor", .timeLimit(.minutes(1)))
struct ReconcilerTests {
    let docsTypes = ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"]
    let threeT4 = ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"]

    /// Whether the daemon backs off until `delay` after a retry that ran between `earliest` and `latest`
    /// (a test clock advanced past a deadline may run the retry at the deadline or at the advanced time).
    func backsOff(_ daemon: DaemonHarness, delay: Duration, retriedBetween earliest: Duration, and latest: Duration) async -> Bool {
        guard case .backingOff(let until) = await daemon.reconciler.phase else { return false }
        let offset = TestClock<Duration>.Instant().duration(to: until)
        return offset >= earliest + delay && offset <= latest + delay
    }

    @Test("Start: one full pass converges the host, then READY=1 with the status line")
    func start() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        try await daemon.start()
        #expect(daemon.kernel.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
        #expect(daemon.notifier.messages.all.first == "READY=1\nSTATUS=3 parents, 34 devices, 0 blocked, last error: none")
        #expect(daemon.messageIDs(of: .created).count == 34)
        #expect(daemon.messageIDs(of: .created).allSatisfy { $0.metadata[JournalField.parent] != nil && $0.metadata[JournalField.uuid] != nil })
        #expect(daemon.messageIDs(of: .parentAppeared).count == 3)
        #expect(await daemon.reconciler.phase == .idle)
        await daemon.reconciler.receive(.stopRequested)
        try await daemon.waitForExit()
    }

    @Test("The daemon settles once per burst of passes, when they leave nothing to do: not during a pass, not while debouncing")
    func settlesOncePerBurst() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        try await daemon.start()
        _ = try await daemon.settled.first(from: 0) { true }
        #expect(daemon.settled.count == 1)
        #expect(await daemon.reconciler.phase == .idle)
        // A write held inside the kernel: the pass does not end, so the daemon does not settle.
        daemon.control.close("0000:3b:00.0")
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration(["nvidia-228"]))
        let writes = daemon.control.writesStarted.count
        await daemon.reconciler.receive(.reloadRequested)
        _ = try await daemon.control.writesStarted.first(from: writes) { $0 == "0000:3b:00.0" }
        #expect(daemon.settled.count == 1)
        #expect(await daemon.reconciler.phase == .reconciling)
        // An event during the pass: once it ends the daemon is debouncing, not settled.
        await daemon.reconciler.receive(.parentsTouched(["0000:3c:00.0"]))
        try await daemon.pass { daemon.control.open("0000:3b:00.0") }
        guard case .debouncing = await daemon.reconciler.phase else {
            Issue.record("expected debouncing after the pass, found \(await daemon.reconciler.phase)")
            try await daemon.stop()
            return
        }
        #expect(daemon.settled.count == 1)
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(150)) }
        _ = try await daemon.settled.first(from: 1) { true }
        #expect(daemon.settled.count == 2)
        #expect(await daemon.reconciler.phase == .idle)
        try await daemon.stop()
    }

    @Test("removeForeignDevices through the daemon: another program's idle device is removed for the plan, a held one never",
          arguments: [false, true])
    func removeForeignDevices(enabled: Bool) async throws {
        let kernel = SimulatedKernel(parents: ["0000:3b:00.0", "0000:3c:00.0"].map(HardwareProfiles.t4))
        let foreign = UUID(uuidString: "c3f2b1a0-5d4e-4c8b-9a7f-6e5d4c3b2a10")!
        let held = UUID(uuidString: "9d1e4a35-7c2b-4f60-8e91-3a5b7c9d0e12")!
        kernel.addDevice(foreign, type: "nvidia-230", on: "0000:3b:00.0")
        kernel.addDevice(held, type: "nvidia-230", on: "0000:3c:00.0", holders: [DeviceHolder(pid: 7, command: "qemu-system-x86")])
        let daemon = DaemonHarness(kernel: kernel, types: ["nvidia-222"], settings: ReconcilerSettings(removeForeignDevices: enabled))
        try await daemon.start()
        let devices = Set(kernel.devices.map(\.uuid))
        #expect(devices.contains(held))
        #expect(devices.contains(foreign) == !enabled)
        #expect(kernel.layout[0] == (enabled ? "0000:3b:00.0: nvidia-222 ×16" : "0000:3b:00.0: nvidia-230 ×1"))
        #expect(daemon.messageIDs(of: .removed).map { $0.metadata[JournalField.uuid] } == (enabled ? [foreign.sysfsString] : []))
        #expect(daemon.messageIDs(of: .blocked).count == (enabled ? 0 : 1))
        #expect(kernel.state.withLock { $0.violations }.isEmpty)
        await daemon.reconciler.receive(.stopRequested)
        try await daemon.waitForExit()
    }

    @Test("A VM's process name with escape sequences reaches the journal escaped")
    func escapedHolderInTheJournal() async throws {
        let kernel = SimulatedKernel(parents: ["0000:3b:00.0"].map(HardwareProfiles.t4))
        let held = UUID(uuidString: "9d1e4a35-7c2b-4f60-8e91-3a5b7c9d0e12")!
        kernel.addDevice(held, type: "nvidia-230", on: "0000:3b:00.0", holders: [DeviceHolder(pid: 7, command: "q\u{1B}]0;owned\u{07}\u{1B}[2J")])
        let daemon = DaemonHarness(kernel: kernel, types: ["nvidia-222"])
        try await daemon.start()
        let blocked = try #require(daemon.logs.all.first { $0.message.contains("is in use by") }, "\(daemon.logs.all.map(\.message))")
        #expect(blocked.message.contains(#"pid 7 (q\u{1B}]0;owned\u{7}\u{1B}[2J)"#), "\(blocked.message)")
        #expect(!daemon.logs.all.contains { $0.message.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" } })
        await daemon.reconciler.receive(.stopRequested)
        try await daemon.waitForExit()
    }

    @Test("A storm of 10,000 events on one parent: one pass, and no other parent is read again")
    func storm() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        try await daemon.start()
        let readsBefore = daemon.kernel.state.withLock { $0.parentReads }
        let passesBefore = await daemon.host.passes
        let known = Set(threeT4)
        let status = try await daemon.pass {
            for index in 0..<10_000 {
                let uuid = UUID().uuidString.lowercased()
                let event = DeviceEvent(
                    action: index.isMultiple(of: 2) ? "add" : "remove", subsystem: "mdev",
                    devpath: "/devices/pci0000:00/0000:3c:00.0/\(uuid)")
                if let input = UeventRouter.input(for: event, knownParents: known) { await daemon.reconciler.receive(input) }
                // Unrelated events are routed to nothing.
                let unrelated = DeviceEvent(action: "change", subsystem: "net", devpath: "/devices/virtual/net/eth\(index)")
                #expect(UeventRouter.input(for: unrelated, knownParents: known) == nil)
            }
            #expect(await daemon.reconciler.phase == .debouncing(since: daemon.clock.now, deadline: daemon.clock.now.advanced(by: .milliseconds(100))))
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(status.hasPrefix("STATUS=3 parents"))
        #expect(await daemon.host.passes == passesBefore + 1)
        let readsAfter = daemon.kernel.state.withLock { $0.parentReads }
        #expect(readsAfter["0000:3c:00.0"] == readsBefore["0000:3c:00.0"]! + 1)
        #expect(readsAfter["0000:3b:00.0"] == readsBefore["0000:3b:00.0"])
        #expect(readsAfter["0000:3d:00.0"] == readsBefore["0000:3d:00.0"])
        await daemon.reconciler.receive(.stopRequested)
        try await daemon.waitForExit()
    }

    @Test("A never-ending storm still gets a pass after the maximum delay")
    func maximumDelay() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        try await daemon.start()
        let passesBefore = await daemon.host.passes
        try await daemon.pass {
            for _ in 0..<25 {  // 25 × 50 ms: the quiet window never ends, the 1 s cap does.
                await daemon.reconciler.receive(.parentsTouched(["0000:3b:00.0"]))
                await daemon.clock.advance(by: .milliseconds(50))
            }
        }
        #expect(await daemon.host.passes == passesBefore + 1)
        try await daemon.stop()
    }

    @Test("A hot-plugged card is filled, an unplugged one is forgotten, both from their events alone")
    func hotplug() async throws {
        let daemon = DaemonHarness(kernel: SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")]), types: ["nvidia-222", "nvidia-228"])
        try await daemon.start()
        daemon.kernel.addParent(HardwareProfiles.t4("0000:3c:00.0"))
        try await daemon.pass {
            let event = DeviceEvent(action: "change", subsystem: "pci", devpath: "/devices/pci0000:00/0000:3c:00.0",
                                    properties: ["MDEV_STATE": "registered"])
            await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: ["0000:3b:00.0"])!)
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(daemon.kernel.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2"])
        #expect(daemon.messageIDs(of: .parentAppeared).map { $0.metadata[JournalField.parent] } == ["0000:3b:00.0", "0000:3c:00.0"])
        daemon.kernel.removeParent(named: "0000:3c:00.0")
        try await daemon.pass {
            let event = DeviceEvent(action: "remove", subsystem: "pci", devpath: "/devices/pci0000:00/0000:3c:00.0")
            await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: ["0000:3b:00.0", "0000:3c:00.0"])!)
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(daemon.messageIDs(of: .parentGone).map { $0.metadata[JournalField.parent] } == ["0000:3c:00.0"])
        #expect(await daemon.host.inventory.parents.map(\.name) == ["0000:3b:00.0"])
        try await daemon.stop()
    }

    @Test("A held device is kept and re-checked on a backoff; once the VM lets go (no event) the card converges")
    func inUseRecheck() async throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let held = HostKey(nodeName: "node01").deviceUUID(parent: "0000:3b:00.0", type: "nvidia-228", slot: 0)
        kernel.addDevice(held, type: "nvidia-228", on: "0000:3b:00.0", holders: [DeviceHolder(pid: 77, command: "qemu-system-x86")])
        let daemon = DaemonHarness(kernel: kernel, types: ["nvidia-222"])
        try await daemon.start()
        #expect(daemon.notifier.messages.all.first == "READY=1\nSTATUS=1 parents, 1 devices, 1 blocked, last error: none")
        #expect(daemon.messageIDs(of: .keptInUse).map { $0.metadata[JournalField.holder] } == ["pid 77 (qemu-system-x86)"])
        #expect(await daemon.reconciler.phase == .backingOff(until: daemon.clock.now.advanced(by: .seconds(1))))
        // Still held at the first re-check: the next one comes 2 s later, and nothing is logged again.
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(1001)) }
        #expect(await backsOff(daemon, delay: .seconds(2), retriedBetween: .seconds(1), and: .milliseconds(1001)))
        #expect(daemon.messageIDs(of: .keptInUse).count == 1)
        daemon.kernel.setHolders([], of: held)
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(2001)) }
        #expect(daemon.kernel.layout == ["0000:3b:00.0: nvidia-222 ×16"])
        #expect(await daemon.reconciler.phase == .idle)
        #expect(daemon.kernel.state.withLock { $0.violations }.isEmpty)
        try await daemon.stop()
    }

    @Test("Failed creates are retried with backoff, never in a tight loop, logged once with their errno, and converge")
    func failureBackoff() async throws {
        let kernel = ExampleHosts.threeT4().kernel
        kernel.state.withLock { $0.createFaults["0000:3c:00.0"] = [.ioError, .ioError] }
        let daemon = DaemonHarness(kernel: kernel, types: docsTypes)
        try await daemon.start()
        #expect(daemon.notifier.messages.all.first?.contains("last error: 0000:3c:00.0: create") == true)
        #expect(daemon.messageIDs(of: .failed).count == 1)
        #expect(daemon.messageIDs(of: .failed).first?.metadata[JournalField.errno] == "EIO")
        #expect(daemon.messageIDs(of: .failed).first?.metadata[JournalField.retry] == "persistent")
        #expect(await daemon.host.status.parents[1].errno == "EIO")
        #expect(await daemon.reconciler.phase == .backingOff(until: daemon.clock.now.advanced(by: .seconds(1))))
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(1001)) }
        // The same error again is not logged again.
        #expect(daemon.kernel.state.withLock { $0.createFaults["0000:3c:00.0"] } == [])
        #expect(daemon.messageIDs(of: .failed).count == 1)
        #expect(await backsOff(daemon, delay: .seconds(2), retriedBetween: .seconds(1), and: .milliseconds(1001)))
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(2001)) }
        #expect(daemon.messageIDs(of: .failed).count == 1)
        #expect(await daemon.host.status.parents[1].errno == nil)
        #expect(daemon.kernel.layout[1] == "0000:3c:00.0: nvidia-228 ×2")
        #expect(await daemon.reconciler.phase == .idle)
        try await daemon.stop()
    }

    @Test("SIGHUP during a pass: RELOADING=1 at once, the reload pass right after, then READY=1")
    func reloadDuringPass() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: ["nvidia-222"])
        daemon.control.close("0000:3b:00.0")
        let writes = daemon.control.writesStarted.count
        let starting = Task { try await daemon.start() }
        _ = try await daemon.control.writesStarted.first(from: writes) { $0 == "0000:3b:00.0" }
        #expect(await daemon.reconciler.phase == .reconciling)
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration(["nvidia-228"]))
        let mark = daemon.notifier.messages.count
        await daemon.reconciler.receive(.reloadRequested)
        #expect(daemon.notifier.messages.all.dropFirst(mark).first == "RELOADING=1")
        daemon.control.open("0000:3b:00.0")
        try await starting.value
        // The reload pass starts as soon as the first one ends; its end is the second READY=1.
        _ = try await daemon.notifier.messages.first(from: mark + 2) { $0.hasPrefix("READY=1") }
        #expect(await daemon.host.configGeneration == 2)
        #expect(daemon.messageIDs(of: .configLoaded).count == 1)
        // Only our devices of the old type could go; nvidia-228 gets one card per the ring.
        #expect(daemon.kernel.layout.contains("0000:3b:00.0: nvidia-228 ×2"))
        try await daemon.stop()
    }

    @Test("An unreadable config is rejected with its location; the last good config stays and nothing is removed")
    func rejectedConfig() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        try await daemon.start()
        let before = daemon.kernel.devices.map(\.uuid)
        daemon.nextConfiguration.value = .failure(InputError(
            SourceLocation(file: "/etc/mdev-reconciler/config.yaml", line: 3, column: 7), field: "mediatedDevicesConfiguration", "expected a mapping"))
        let status = try await daemon.pass {
            await daemon.reconciler.receive(.configChanged)
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(status.contains("last error: /etc/mdev-reconciler/config.yaml:3:7: mediatedDevicesConfiguration: expected a mapping"))
        let rejected = try #require(daemon.messageIDs(of: .configRejected).first)
        #expect(rejected.message.contains("config.yaml:3:7"))
        #expect(rejected.level == .error)
        #expect(daemon.kernel.devices.map(\.uuid) == before)
        #expect(await daemon.host.configGeneration == 1)
        try await daemon.stop()
    }

    @Test("A write past its deadline marks the parent stuck; the others and every signal are still served")
    func stuckWrite() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        daemon.control.close("0000:3b:00.0")
        let writes = daemon.control.writesStarted.count
        let starting = Task { try await daemon.start() }
        _ = try await daemon.control.writesStarted.first(from: writes) { $0 == "0000:3b:00.0" }
        await daemon.clock.advance(by: .seconds(11))
        try await starting.value
        let stuck = try #require(daemon.messageIDs(of: .stuck).first)
        #expect(stuck.metadata[JournalField.parent] == "0000:3b:00.0")
        #expect(daemon.kernel.layout[1...] == ["0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
        // Events on the stuck parent are read but not written to; the daemon still answers a reload.
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        // The write returns at last: the parent is read again, and it is no longer stuck.
        let logMark = daemon.logs.count
        daemon.control.open("0000:3b:00.0")
        _ = try await daemon.logs.first(from: logMark) { $0.message.hasPrefix("writes to 0000:3b:00.0 returned") }
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(101)) }
        #expect(daemon.kernel.layout[0] == "0000:3b:00.0: nvidia-222 ×16")
        #expect(await daemon.host.status.parents[0].stuck == false)
        try await daemon.stop()
    }

    @Test("SIGTERM during a pass: STOPPING=1, the pass ends, the loop exits, and every device stays")
    func stopDuringPass() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        try await daemon.start()
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration(["nvidia-230"]))
        daemon.control.close("0000:3b:00.0")
        let writes = daemon.control.writesStarted.count
        await daemon.reconciler.receive(.reloadRequested)
        _ = try await daemon.control.writesStarted.first(from: writes) { $0 == "0000:3b:00.0" }
        let mark = daemon.notifier.messages.count
        let devices = daemon.kernel.devices.count
        let (creates, removes) = daemon.kernel.state.withLock { ($0.creates, $0.removes) }
        await daemon.reconciler.receive(.stopRequested)
        #expect(daemon.notifier.messages.all.dropFirst(mark).first == "STOPPING=1")
        #expect(await daemon.reconciler.phase == .stopping)
        daemon.control.open("0000:3b:00.0")
        try await daemon.waitForExit()
        #expect(await daemon.reconciler.phase == .stopped)
        #expect(daemon.messageIDs(of: .stopped).count == 1)
        // The write in flight (one removal) finished; no other write started after the stop.
        #expect(daemon.kernel.state.withLock { ($0.creates, $0.removes) } == (creates, removes + 1))
        #expect(daemon.kernel.devices.count == devices - 1)
    }

    @Test("A host that cannot be read at start is read again with backoff, and the daemon converges then")
    func unreadableHostAtStart() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.mtty().kernel, types: ["mtty-1"])
        daemon.kernel.state.withLock { $0.readFault = SysfsError(.list, "/proc", .permissionDenied) }
        try await daemon.start()
        #expect(daemon.logs.all.contains { $0.message.hasPrefix("cannot read the host, retrying") })
        #expect(daemon.notifier.messages.all.first == "READY=1\nSTATUS=0 parents, 0 devices, 0 blocked, last error: cannot read the host: list /proc: Permission denied")
        #expect(await daemon.reconciler.phase == .backingOff(until: daemon.clock.now.advanced(by: .seconds(1))))
        daemon.kernel.state.withLock { $0.readFault = nil }
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(1001)) }
        #expect(daemon.kernel.layout == ["mtty: mtty-1 ×24"])
        #expect(await daemon.reconciler.phase == .idle)
        try await daemon.stop()
    }

    @Test("Entries and status of an SR-IOV GPU's virtual functions name the GPU too (MDEV_CARD)")
    func sriovFields() async throws {
        let daemon = DaemonHarness(kernel: SimulatedKernel(parents: HardwareProfiles.a16("0000:81:00.0")), types: ["nvidia-693"])
        try await daemon.start()
        let created = daemon.messageIDs(of: .created)
        #expect(created.map { $0.metadata[JournalField.parent] } == ["0000:81:00.4", "0000:81:00.5"])
        #expect(created.allSatisfy { $0.metadata[JournalField.card] == "0000:81:00.0" })
        let status = await daemon.host.status
        #expect(status.parents.allSatisfy { $0.card == "0000:81:00.0" })
        #expect(status.summary == "16 parents, 2 devices, 0 blocked, last error: none")
        try await daemon.stop()
    }

    @Test("Virtual functions enabled at run time (pci add events) are filled per GPU; their removal is seen too")
    func sriovHotplug() async throws {
        let daemon = DaemonHarness(kernel: SimulatedKernel(parents: []), types: ["nvidia-693"])
        try await daemon.start()
        let functions = HardwareProfiles.a16("0000:81:00.0")
        try await daemon.pass {
            for function in functions {
                daemon.kernel.addParent(function)
                let event = DeviceEvent(action: "add", subsystem: "pci", devpath: "/devices/pci0000:80/0000:80:01.0/\(function.name)")
                await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: [])!)
            }
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(Set(daemon.kernel.devices.map(\.parent)) == ["0000:81:00.4", "0000:81:00.5"])
        #expect(await daemon.host.inventory.parents.count == 16)
        try await daemon.pass {
            for function in functions {
                daemon.kernel.removeParent(named: function.name)
                let event = DeviceEvent(action: "remove", subsystem: "pci", devpath: "/devices/pci0000:80/0000:80:01.0/\(function.name)")
                await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: Set(functions.map(\.name)))!)
            }
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(await daemon.host.inventory.parents.isEmpty)
        #expect(daemon.messageIDs(of: .parentGone).count == 16)
        try await daemon.stop()
    }

    @Test("A card that cannot be read in a full rescan keeps its last known state: the other cards do not move")
    func unreadableCardIsNotGone() async throws {
        let daemon = DaemonHarness(kernel: SimulatedKernel(parents: ["0000:3b:00.0", "0000:3c:00.0"].map(HardwareProfiles.t4)),
                                   types: ["nvidia-222", "nvidia-228"])
        try await daemon.start()
        let layout = daemon.kernel.layout
        #expect(layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2"])
        daemon.kernel.state.withLock { $0.unreadableParents = ["0000:3b:00.0"] }
        // A reload rescans the whole host; a partial pass on the unreadable card follows.
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        try await daemon.pass {
            await daemon.reconciler.receive(.parentsTouched(["0000:3b:00.0"]))
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(daemon.kernel.layout == layout)
        #expect(daemon.kernel.state.withLock { $0.removes } == 0)
        #expect(daemon.messageIDs(of: .parentGone).isEmpty)
        #expect(await daemon.host.inventory.parents.count == 2)
        try await daemon.stop()
    }

    @Test("Vendor-specific mode: functions enabled at run time are filled per GPU from their pci events, though the writes emit none")
    func vendorModeHotplug() async throws {
        let gpus = SimulatedVendorGPUs(gpus: [])
        let backend = VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil)) { _ in }
        let daemon = DaemonHarness(kernel: SimulatedKernel(parents: []), types: ["NVIDIA_L40S-4Q"], vendor: backend)
        try await daemon.start()
        let gpu = VendorProfiles.l40s("0000:3d:00.0")
        try await daemon.pass {
            gpus.addGPU(gpu)
            for function in gpu.functions {
                let event = DeviceEvent(action: "add", subsystem: "pci", devpath: "/devices/pci0000:3a/0000:3a:00.0/\(function)")
                await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: [])!)
            }
            await daemon.clock.advance(by: .milliseconds(101))
        }
        // Filled function by function until the driver listed the type no more (no catalog was learnt from
        // a partial reading), then every function of the GPU was read back.
        #expect(gpus.layout.count == 12, "\(daemon.logs.all.map(\.message).suffix(40))")
        #expect(gpus.layout.allSatisfy { $0.hasSuffix(": 1150") })
        let status = await daemon.host.status
        #expect(status.parents.allSatisfy { $0.toCreate == 0 && $0.toRemove == 0 && $0.card == "0000:3d:00.0" })
        let created = daemon.messageIDs(of: .created)
        #expect(created.count == 12)
        #expect(created.allSatisfy { $0.metadata[JournalField.card] == "0000:3d:00.0" && $0.metadata[JournalField.uuid] == nil })
        #expect(created.first?.message == "configured 0000:3d:00.4 as nvidia-1150")

        // The driver unloads: the functions and their vGPUs vanish, and the daemon forgets them.
        try await daemon.pass {
            gpus.removeGPU(named: gpu.name)
            for function in gpu.functions {
                let event = DeviceEvent(action: "remove", subsystem: "pci", devpath: "/devices/pci0000:3a/0000:3a:00.0/\(function)")
                await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: Set(gpu.functions))!)
            }
            await daemon.clock.advance(by: .milliseconds(101))
        }
        #expect(await daemon.host.inventory.parents.isEmpty)
        #expect(daemon.messageIDs(of: .parentGone).count == 32)
        try await daemon.stop()
    }

    @Test("run --write-timeout 5 in vendor mode: the clear's EPERM retries fit into the deadline, a clear still refused is retried as transient, nothing is stuck")
    func vendorClearsFitTheWriteDeadline() async throws {
        var timing = DaemonHarness.defaultTiming
        timing.writeDeadline = .seconds(5)
        #expect(timing.vendorClearRetryDelays == [.milliseconds(500), .seconds(1)])
        let slept = Recorder<Duration>()
        let gpus = SimulatedVendorGPUs(gpus: [VendorProfiles.l40s("0000:3d:00.0")])
        let backend = VendorVGPUBackend(files: gpus, record: VendorVGPURecord(path: nil), clearRetryDelays: timing.vendorClearRetryDelays) {
            slept.record($0)
        }
        let daemon = DaemonHarness(kernel: SimulatedKernel(parents: []), types: ["NVIDIA_L40S-48Q"], timing: timing, vendor: backend)
        try await daemon.start()
        #expect(gpus.layout == ["0000:3d:00.4: 1156"])
        // The VM on it exits; the driver refuses the next 4 clears. The config asks for another size.
        gpus.release("0000:3d:00.4", refusingClears: 4)
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration(["NVIDIA_L40S-24Q"]))
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        // Three attempts in the write (two waits, 1.5 s of the 5 s deadline), then EPERM, retried as transient.
        #expect(slept.all == [.milliseconds(500), .seconds(1)])
        let failed = daemon.messageIDs(of: .failed)
        #expect(failed.count == 1)
        #expect(failed.first?.metadata[JournalField.errno] == "EPERM" && failed.first?.metadata[JournalField.retry] == "transient")
        #expect(await daemon.reconciler.phase == .backingOff(until: daemon.clock.now.advanced(by: .milliseconds(500))))
        try await daemon.pass { await daemon.clock.advance(by: .milliseconds(501)) }
        #expect(slept.all == [.milliseconds(500), .seconds(1), .milliseconds(500)])
        #expect(gpus.layout == ["0000:3d:00.4: 1155", "0000:3d:00.5: 1155"])
        #expect(daemon.messageIDs(of: .stuck).isEmpty)
        #expect(await daemon.reconciler.phase == .idle)
        try await daemon.stop()
    }

    @Test("enableVirtualFunctions: the enabler runs before full passes (all GPUs) and event passes (their devices); outcomes are logged once",
          arguments: [true, false])
    func virtualFunctionEnablement(enabled: Bool) async throws {
        let calls = Recorder<Set<String>?>()
        let busy = VirtualFunctionEnabler.Outcome(gpu: "0000:3d:00.0", result: .gpuBusy(output: "Cannot obtain unbindLock"))
        let daemon = DaemonHarness(
            kernel: SimulatedKernel(parents: []), types: ["nvidia-1150"],
            settings: ReconcilerSettings(enableVirtualFunctions: enabled)
        ) { names, _ in
            calls.record(names)
            return [busy]
        }
        try await daemon.start()
        try await daemon.pass {
            let event = DeviceEvent(action: "bind", subsystem: "pci", devpath: "/devices/pci0000:3a/0000:3a:00.0/0000:3d:00.0")
            await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: [])!)
            await daemon.clock.advance(by: .milliseconds(101))
        }
        guard enabled else {
            #expect(calls.all.isEmpty)
            try await daemon.stop()
            return
        }
        #expect(calls.all == [nil, ["0000:3d:00.0"]])
        let logged = daemon.messageIDs(of: .virtualFunctionsNotEnabled)
        #expect(logged.count == 1)
        #expect(logged.first?.metadata[JournalField.card] == "0000:3d:00.0")
        #expect(logged.first?.message.contains("Cannot obtain unbindLock") == true)
        try await daemon.stop()
    }

    @Test("With WatchdogSec= set, WATCHDOG=1 goes out at half the interval, from the actor")
    func watchdog() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.mtty().kernel, types: ["mtty-1"], watchdog: .seconds(30))
        try await daemon.start()
        #expect(!daemon.notifier.messages.all.contains("WATCHDOG=1"))
        let mark = daemon.notifier.messages.count
        await daemon.clock.advance(by: .seconds(15))
        _ = try await daemon.notifier.messages.first(from: mark) { $0 == "WATCHDOG=1" }
        await daemon.reconciler.receive(.stopRequested)
        try await daemon.waitForExit()
    }

    @Test("SIGTERM with a write stuck in the kernel: the pass is abandoned after the grace period")
    func stopAbandonsStuckPass() async throws {
        let daemon = DaemonHarness(kernel: ExampleHosts.threeT4().kernel, types: docsTypes)
        daemon.control.close("0000:3b:00.0")
        let writes = daemon.control.writesStarted.count
        Task { try await daemon.start() }
        _ = try await daemon.control.writesStarted.first(from: writes) { $0 == "0000:3b:00.0" }
        await daemon.reconciler.receive(.stopRequested)
        await daemon.clock.advance(by: .seconds(4))
        try await daemon.waitForExit()
        #expect(await daemon.reconciler.phase == .stopped)
        daemon.control.open("0000:3b:00.0")
    }
}
