import Foundation
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

@testable import MdevDaemon

/// Removals only for a real reason, through the whole daemon: hardware events only add.
@Suite("The daemon keeps the layout while cards come and go", .timeLimit(.minutes(1)))
struct RememberedLayoutDaemonTests {
    let docsTypes = ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"]
    let balanced = ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"]
    let unplugged = ["0000:3b:00.0: nvidia-222 ×16", "0000:3d:00.0: nvidia-222 ×16"]

    func stateDirectory() -> LayoutRecord {
        LayoutRecord(stateDirectory: temporaryPath("mdev-layout-" + UUID().uuidString))
    }

    /// The pass after `card`'s PCI device went (or came, with `action: "add"`), as its uevent reports it.
    func cardEvent(_ daemon: DaemonHarness, _ action: String, _ card: String) async throws {
        try await daemon.pass {
            let event = DeviceEvent(action: action, subsystem: "pci", devpath: "/devices/pci0000:00/\(card)")
            await daemon.reconciler.receive(UeventRouter.input(for: event, knownParents: Set(daemon.kernel.devices.map(\.parent)))!)
            await daemon.clock.advance(by: .milliseconds(101))
        }
    }

    @Test("A layout record made corrupt while the daemon runs is written again after the next pass that keeps the layout")
    func corruptRecordRewritten() async throws {
        let kernel = ExampleHosts.threeT4().kernel
        let record = stateDirectory()
        let daemon = DaemonHarness(kernel: kernel, types: docsTypes, layoutRecord: record)
        try await daemon.start()
        let layout = try #require(record.load().layout)
        try FileSystem.writeAtomically(Array("{\"version\": 1, \"cards\": 3}".utf8), to: record.layoutPath)
        #expect(record.load().layout == nil)
        let mark = daemon.logs.count
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        #expect(record.load().layout == layout)
        #expect(daemon.logs.all.dropFirst(mark).contains {
            $0.message.hasPrefix("the layout record \(record.layoutPath) lacks 'wantedDigest'") && $0.message.hasSuffix("; written again")
        })
        // A pass that finds the record whole writes nothing: the file is the same one (a write renames a new one).
        func inode() throws -> Int? { try FileManager.default.attributesOfItem(atPath: record.layoutPath)[.systemFileNumber] as? Int }
        let written = try #require(try inode())
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        #expect(try inode() == written)
        try await daemon.stop()
    }

    @Test("Three T4 cards: the 228 card unplugged moves nothing; a restart changes nothing; plugged again it gets 228 back")
    func unplugRestartReplug() async throws {
        let kernel = ExampleHosts.threeT4().kernel
        let record = stateDirectory()
        let daemon = DaemonHarness(kernel: kernel, types: docsTypes, layoutRecord: record)
        try await daemon.start()
        #expect(kernel.layout == balanced)
        #expect(record.load().layout?.cards == ["0000:3b:00.0": "nvidia-222", "0000:3c:00.0": "nvidia-228", "0000:3d:00.0": "nvidia-222"])
        let devices = Set(kernel.devices.map(\.uuid))

        kernel.removeParent(named: "0000:3c:00.0")
        try await cardEvent(daemon, "remove", "0000:3c:00.0")
        #expect(kernel.layout == unplugged)
        #expect(daemon.messageIDs(of: .removed).isEmpty)
        let unserved = daemon.messageIDs(of: .unserved)
        #expect(unserved.map(\.message) == [
            "nvidia-228: wanted, no card since 0000:3c:00.0 went away; rebalance would move 0000:3d:00.0 nvidia-222 → nvidia-228, "
                + "removing 16 idle devices (mdev-reconciler rebalance to restore the balance)",
        ])
        #expect(unserved.first?.metadata[JournalField.type] == "nvidia-228")
        let status = await daemon.host.status
        #expect(status.unserved == ["nvidia-228: wanted, no card since 0000:3c:00.0 went away"])
        #expect(status.rebalance == ["rebalance would move 0000:3d:00.0 nvidia-222 → nvidia-228, removing 16 idle devices"])
        try await daemon.stop()

        // Killed after the unplug and started again: the record keeps the layout, nothing moves.
        let restarted = DaemonHarness(kernel: kernel, types: docsTypes, layoutRecord: record)
        try await restarted.start()
        #expect(kernel.layout == unplugged)
        #expect(restarted.messageIDs(of: .removed).isEmpty && restarted.messageIDs(of: .created).isEmpty)
        #expect(restarted.messageIDs(of: .unserved).count == 1)

        // Plugged again: 228 comes back on it, with the same UUIDs, and no removal anywhere.
        kernel.addParent(HardwareProfiles.t4("0000:3c:00.0"))
        try await cardEvent(restarted, "add", "0000:3c:00.0")
        #expect(kernel.layout.sorted() == balanced)
        #expect(Set(kernel.devices.map(\.uuid)) == devices)
        #expect(restarted.messageIDs(of: .removed).isEmpty)
        #expect(await restarted.host.status.unserved == [])
        try await restarted.stop()
    }

    @Test("After the unplug, a config edit rebalances (also one made while the daemon was down), and so does a rebalance request, removed once done",
          arguments: ["edit", "edit while down", "request"])
    func rebalanceAfterUnplug(how: String) async throws {
        let kernel = ExampleHosts.threeT4().kernel
        let record = stateDirectory()
        var daemon = DaemonHarness(kernel: kernel, types: docsTypes, layoutRecord: record)
        try await daemon.start()
        kernel.removeParent(named: "0000:3c:00.0")
        try await cardEvent(daemon, "remove", "0000:3c:00.0")
        #expect(kernel.layout == unplugged)
        let edited = ["nvidia-222", "nvidia-228"]
        switch how {
        case "request":
            try record.requestRebalance()
            // The watcher reports the request file as a change of the files it watches.
            try await daemon.pass {
                await daemon.reconciler.receive(.configChanged)
                await daemon.clock.advance(by: .milliseconds(101))
            }
        case "edit":
            daemon.nextConfiguration.value = .success(DaemonHarness.configuration(edited))
            try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        default:
            // Only the record tells a restarted daemon that the list changed since the layout was made.
            try await daemon.stop()
            daemon = DaemonHarness(kernel: kernel, types: edited, layoutRecord: record)
            try await daemon.start()
        }
        #expect(kernel.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3d:00.0: nvidia-228 ×2"])
        #expect(daemon.messageIDs(of: .removed).count == 16)
        #expect(!record.isRebalanceRequested)
        #expect(await !daemon.host.rebalancing)
        // The balanced layout is what is remembered now: the card that went is forgotten with it.
        #expect(record.load().layout?.cards == ["0000:3b:00.0": "nvidia-222", "0000:3d:00.0": "nvidia-228"])
        try await daemon.stop()
    }

    @Test("A config naming only types no card has is held: devices kept, the previous config in force, one error; an empty list removes")
    func typoHeld() async throws {
        let kernel = ExampleHosts.threeT4().kernel
        let daemon = DaemonHarness(kernel: kernel, types: docsTypes)
        try await daemon.start()
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration(["nvidia-22", "GRID_T4-1b"]))
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        #expect(kernel.layout == balanced)
        let held = daemon.messageIDs(of: .configHeld)
        #expect(held.count == 1)
        #expect(held.first?.message.contains("nvidia-22, GRID_T4-1b") == true)
        #expect(await daemon.host.configGeneration == 1)
        #expect(await daemon.host.configuration.wanted.types == docsTypes)
        #expect(await daemon.host.status.held?.contains("a likely typo") == true)
        // Hardware events still get the config in force: a card plugged in is filled.
        daemon.nextConfiguration.value = .success(DaemonHarness.configuration([]))
        try await daemon.pass { await daemon.reconciler.receive(.reloadRequested) }
        #expect(kernel.devices.isEmpty)
        #expect(await daemon.host.status.held == nil)
        try await daemon.stop()

        // Started with such a config on a host with devices of ours: nothing is changed, and it is said once.
        let filled = ExampleHosts.threeT4().kernel
        let first = DaemonHarness(kernel: filled, types: docsTypes)
        try await first.start()
        try await first.stop()
        let typo = DaemonHarness(kernel: filled, types: ["nvidia-22"])
        try await typo.start()
        #expect(filled.layout == balanced)
        #expect(typo.messageIDs(of: .configHeld).count == 1)
        try await typo.pass { await typo.reconciler.receive(.reloadRequested) }
        #expect(typo.messageIDs(of: .configHeld).count == 1)
        try await typo.stop()
    }
}
