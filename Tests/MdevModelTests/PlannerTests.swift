import Foundation
import MdevTestSupport
import Testing

@testable import MdevModel

/// Plans for a kernel's current inventory.
func makePlan(
    _ kernel: SimulatedKernel, types: [String], removeForeign: Bool = false, hostKey: HostKey = HostKey(nodeName: "node01"),
    remembered: RememberedLayout? = nil, rebalance: Bool = false, allowRemovalOfAll: Bool = false
) throws -> Plan {
    try makePlan(kernel.readInventory().inventory, wanted: WantedTypes(types: types, source: .global), removeForeign: removeForeign,
                 hostKey: hostKey, remembered: remembered, rebalance: rebalance, allowRemovalOfAll: allowRemovalOfAll)
}

func makePlan(
    _ inventory: Inventory, wanted: WantedTypes, removeForeign: Bool = false, hostKey: HostKey = HostKey(nodeName: "node01"),
    remembered: RememberedLayout? = nil, rebalance: Bool = false, allowRemovalOfAll: Bool = false
) -> Plan {
    Planner.plan(PlanningInput(
        inventory: inventory, wanted: wanted, hostKey: hostKey,
        settings: ReconcilerSettings(removeForeignDevices: removeForeign), nodeName: "node01", remembered: remembered,
        rebalance: rebalance, allowRemovalOfAll: allowRemovalOfAll))
}

extension Plan {
    /// `parent: type ×(devices after the plan)` for each parent, the shape the KubeVirt docs describe layouts in.
    var layout: [String] {
        parents.map { parent in
            guard let type = parent.type else { return "\(parent.parent): -" }
            return "\(parent.parent): \(type) ×\(parent.keep.filter { $0.type == type }.count + parent.create.count)"
        }
    }
}

@Suite("Planner: KubeVirt's documented layouts")
struct PlannerDocumentedLayoutTests {
    let threeT4 = ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"]

    @Test("Three T4 cards with [nvidia-222, nvidia-228, nvidia-105, nvidia-108]: 16×222, 2×228, 16×222")
    func threeT4Cards() throws {
        let plan = try makePlan(SimulatedKernel(parents: threeT4.map(HardwareProfiles.t4)),
                                types: ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"])
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
        #expect(plan.parents.allSatisfy { $0.remove.isEmpty && $0.blockers.isEmpty })
    }

    @Test("One card: the first supported type of the list wins", arguments: [
        (["nvidia-22", "nvidia-223", "nvidia-224"], "0000:3b:00.0: nvidia-223 ×8"),
        (["nvidia-224", "nvidia-223"], "0000:3b:00.0: nvidia-224 ×8"),
        (["GRID_T4-8A", "nvidia-222"], "0000:3b:00.0: nvidia-228 ×2"),
        (["nvidia-105"], "0000:3b:00.0: -"),
    ])
    func oneCard(types: [String], layout: String) throws {
        let plan = try makePlan(SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")]), types: types)
        #expect(plan.layout == [layout])
    }

    @Test("KubeVirt's test layout: three T4 and one GVT-g card, each wanted type on exactly one card")
    func t4AndGVTg() throws {
        let kernel = ExampleHosts.t4AndGVTg().kernel
        let plan = try makePlan(kernel, types: ["nvidia-223", "nvidia-224", "nvidia-229", "i915-GVTg_V5_4"])
        #expect(plan.layout == [
            "0000:00:02.0: i915-GVTg_V5_4 ×4", "0000:3b:00.0: nvidia-223 ×8", "0000:3c:00.0: nvidia-224 ×8",
            "0000:3d:00.0: nvidia-229 ×1",
        ])
    }

    @Test("Two matching nodeMediatedDeviceTypes entries are united and replace the global list")
    func unionOfOverrides() throws {
        let config = MediatedDevicesConfiguration(
            mediatedDeviceTypes: ["nvidia-222"],
            nodeMediatedDeviceTypes: [
                NodeMediatedDeviceTypes(nodeSelector: [Label(key: "gpu", value: "t4")], mediatedDeviceTypes: ["nvidia-223"]),
                NodeMediatedDeviceTypes(nodeSelector: [Label(key: "zone", value: "b")], mediatedDeviceTypes: ["nvidia-230"]),
                NodeMediatedDeviceTypes(nodeSelector: [Label(key: "zone", value: "a")], mediatedDeviceTypes: ["nvidia-228", "nvidia-223"]),
            ])
        let labels = HostLabels.builtIn(nodeName: "node01").overridden(by: [Label(key: "gpu", value: "t4"), Label(key: "zone", value: "a")])
        let wanted = WantedTypes.select(from: config, labels: labels)
        #expect(wanted == WantedTypes(types: ["nvidia-223", "nvidia-228"], source: .nodeOverride(entries: [0, 2])))
        let encoded = try JSONEncoder().encode(wanted)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""source":"nodeMediatedDeviceTypes[0,2]""#))
        #expect(try JSONDecoder().decode(WantedTypes.self, from: encoded) == wanted)
        let plan = makePlan(try SimulatedKernel(parents: threeT4.map(HardwareProfiles.t4)).readInventory().inventory, wanted: wanted)
        #expect(plan.layout == ["0000:3b:00.0: nvidia-223 ×8", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-223 ×8"])
    }

    @Test("No matching override, or one whose lists are empty, leaves the global list")
    func globalFallback() {
        let config = MediatedDevicesConfiguration(
            mediatedDeviceTypes: ["nvidia-222"],
            nodeMediatedDeviceTypes: [
                NodeMediatedDeviceTypes(nodeSelector: [Label(key: "gpu", value: "v100")], mediatedDeviceTypes: ["nvidia-105"]),
                NodeMediatedDeviceTypes(nodeSelector: [], mediatedDeviceTypes: []),
            ])
        #expect(WantedTypes.select(from: config, labels: .builtIn(nodeName: "n")) == WantedTypes(types: ["nvidia-222"], source: .global))
        var disabled = config
        disabled.enabled = false
        #expect(WantedTypes.select(from: disabled, labels: .builtIn(nodeName: "n")).source == .disabled)
    }
}

@Suite("Planner: existing devices, ownership and use")
struct PlannerExistingDeviceTests {
    let key = HostKey(nodeName: "node01")
    let threeT4 = ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"]

    func ours(_ parent: String, _ type: String, _ slots: Range<Int>) -> [UUID] {
        slots.map { key.deviceUUID(parent: parent, type: type, slot: $0) }
    }

    @Test("Existing devices stay where the balance allows: the 228 card moves, the counts do not")
    func keepsExistingInBalance() throws {
        let kernel = SimulatedKernel(parents: threeT4.map(HardwareProfiles.t4))
        for uuid in ours("0000:3d:00.0", "nvidia-228", 0..<2) { kernel.addDevice(uuid, type: "nvidia-228", on: "0000:3d:00.0") }
        let plan = try makePlan(kernel, types: ["nvidia-222", "nvidia-228"])
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-222 ×16", "0000:3d:00.0: nvidia-228 ×2"])
        #expect(plan.parents.allSatisfy { $0.remove.isEmpty })
        #expect(plan.parents[2].create.isEmpty)
    }

    @Test("A card short of devices is topped up with the lowest free slots")
    func topUp() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let existing = ours("0000:3b:00.0", "nvidia-223", 0..<8)
        for uuid in [existing[1], existing[4]] { kernel.addDevice(uuid, type: "nvidia-223", on: "0000:3b:00.0") }
        let plan = try makePlan(kernel, types: ["nvidia-223"])
        #expect(Set(plan.parents[0].create.map(\.uuid)) == Set(existing).subtracting([existing[1], existing[4]]))
    }

    @Test("Our devices of an unwanted type are removed, and the card is refilled up to max_instance")
    func replacesOwnDevices() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        for uuid in ours("0000:3b:00.0", "nvidia-228", 0..<2) { kernel.addDevice(uuid, type: "nvidia-228", on: "0000:3b:00.0") }
        let plan = try makePlan(kernel, types: ["nvidia-222"])
        #expect(plan.parents[0].remove.count == 2)
        // available_instances of nvidia-222 reads 0 while 228 devices exist; max_instance says 16.
        #expect(plan.parents[0].create.count == 16)
        #expect(plan.parents[0].create == ours("0000:3b:00.0", "nvidia-222", 0..<16).map { PlannedDevice(uuid: $0, type: "nvidia-222") })
    }

    @Test("A device in use is never removed: the card is blocked with the holder, and gets what is free now")
    func inUseBlocks() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let held = ours("0000:3b:00.0", "nvidia-228", 0..<1)[0]
        kernel.addDevice(held, type: "nvidia-228", on: "0000:3b:00.0", holders: [DeviceHolder(pid: 4242, command: "qemu-system-x86")])
        let plan = try makePlan(kernel, types: ["nvidia-222"])
        let parent = plan.parents[0]
        #expect(parent.type == "nvidia-222")
        #expect(parent.remove.isEmpty)
        #expect(parent.create.isEmpty)  // NVIDIA: one type excludes the others.
        #expect(parent.reason == "device \(held.sysfsString) (nvidia-228) is in use by pid 4242 (qemu-system-x86)")
    }

    @Test("Shared-pool drivers still fill what the pool allows while a device blocks")
    func sharedPoolBlocked() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        kernel.addDevice(UUID(), type: "mtty-2", on: "mtty", holders: [DeviceHolder(pid: 7, command: "qemu")])
        let plan = try makePlan(kernel, types: ["mtty-1"])
        #expect(plan.parents[0].create.count == 22)
        #expect(plan.parents[0].blockers.map(\.kind) == [.inUse])
    }

    @Test("Foreign devices: kept and blocking by default, adopted when of the target type, removed when allowed")
    func foreignDevices() throws {
        let kernel = SimulatedKernel(parents: ["0000:3b:00.0", "0000:3c:00.0"].map(HardwareProfiles.t4))
        let foreignOther = UUID(uuidString: "11111111-2222-4333-8444-555555555555")!
        let foreignSame = UUID(uuidString: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")!
        kernel.addDevice(foreignOther, type: "nvidia-230", on: "0000:3b:00.0")
        kernel.addDevice(foreignSame, type: "nvidia-222", on: "0000:3c:00.0")
        // Both cards want nvidia-222; the card with the foreign 222 device adopts it.
        let plan = try makePlan(kernel, types: ["nvidia-222"])
        #expect(plan.parents[0].blockers.map(\.kind) == [.foreign])
        #expect(plan.parents[0].remove.isEmpty)
        #expect(plan.parents[1].keep.map(\.uuid) == [foreignSame])
        #expect(plan.parents[1].create.count == 15)
        let permissive = try makePlan(kernel, types: ["nvidia-222"], removeForeign: true)
        #expect(permissive.parents[0].remove.map(\.uuid) == [foreignOther])
        #expect(permissive.parents[0].create.count == 16)
    }

    @Test("Immovable devices decide which card keeps a type")
    func immovableFirst() throws {
        // 3b has two removable 228 devices, 3c one 228 device held by a VM; only one card may be 228.
        let kernel = SimulatedKernel(parents: ["0000:3b:00.0", "0000:3c:00.0"].map(HardwareProfiles.t4))
        for uuid in ours("0000:3b:00.0", "nvidia-228", 0..<2) { kernel.addDevice(uuid, type: "nvidia-228", on: "0000:3b:00.0") }
        kernel.addDevice(ours("0000:3c:00.0", "nvidia-228", 0..<1)[0], type: "nvidia-228", on: "0000:3c:00.0",
                         holders: [DeviceHolder(pid: 1, command: "qemu")])
        let plan = try makePlan(kernel, types: ["nvidia-222", "nvidia-228"], rebalance: true)
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2"])
        #expect(plan.blockedParents.isEmpty)
        // Not asked to rebalance and with no layout remembered, both cards keep the type they hold.
        let kept = try makePlan(kernel, types: ["nvidia-222", "nvidia-228"])
        #expect(kept.layout == ["0000:3b:00.0: nvidia-228 ×2", "0000:3c:00.0: nvidia-228 ×2"])
        #expect(kept.unserved.map(\.message) == ["nvidia-222: wanted, no card while the layout is kept"])
        #expect(kept.rebalanceMoves.map(\.message) == ["rebalance would move 0000:3b:00.0 nvidia-228 → nvidia-222, removing 2 idle devices"])
    }

    @Test("enabled: false plans nothing; a parent with no wanted type loses only our devices")
    func disabledAndUnsupported() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let mine = ours("0000:3b:00.0", "nvidia-228", 0..<1)[0]
        let foreign = UUID()
        kernel.addDevice(mine, type: "nvidia-228", on: "0000:3b:00.0")
        kernel.addDevice(foreign, type: "nvidia-228", on: "0000:3b:00.0")
        let disabled = makePlan(try kernel.readInventory().inventory, wanted: WantedTypes(types: [], source: .disabled))
        #expect(!disabled.hasChanges)
        // A V100 has nvidia-105, so the list is no typo: the T4, which has none of it, loses our device.
        kernel.addParent(HardwareProfiles.v100("0000:86:00.0"))
        let unsupported = try makePlan(kernel, types: ["nvidia-105"])
        #expect(unsupported.held == nil)
        #expect(unsupported.parents[0].type == nil)
        #expect(unsupported.parents[0].remove.map(\.uuid) == [mine])
        #expect(unsupported.parents[0].blockers.isEmpty)
    }

    @Test("A device in a high slot of a shared pool stays ours (the slot is read from the UUID)")
    func highSlotInSharedPool() throws {
        // mtty: our mtty-1 device in slot 23 while eleven mtty-2 devices fill the rest of the pool.
        let kernel = SimulatedKernel(parents: [HardwareProfiles.mtty()])
        let high = key.deviceUUID(parent: "mtty", type: "mtty-1", slot: 23)
        kernel.addDevice(high, type: "mtty-1", on: "mtty")
        for uuid in ours("mtty", "mtty-2", 0..<11) { kernel.addDevice(uuid, type: "mtty-2", on: "mtty") }
        let plan = try makePlan(kernel, types: ["mtty-2"])
        #expect(plan.parents[0].remove.map(\.uuid) == [high])
        #expect(plan.parents[0].blockers.isEmpty)
    }

    @Test("Device UUIDs depend on the host key: another host's devices are foreign here")
    func otherHostsDevicesAreForeign() throws {
        let kernel = SimulatedKernel(parents: [HardwareProfiles.t4("0000:3b:00.0")])
        let otherHost = HostKey(nodeName: "node02")
        kernel.addDevice(otherHost.deviceUUID(parent: "0000:3b:00.0", type: "nvidia-228", slot: 0), type: "nvidia-228", on: "0000:3b:00.0")
        #expect(try makePlan(kernel, types: ["nvidia-222"]).parents[0].blockers.map(\.kind) == [.foreign])
        #expect(try makePlan(kernel, types: ["nvidia-222"], hostKey: otherHost).parents[0].remove.count == 1)
    }
}

@Suite("Maximum-weight assignment")
struct MaximumWeightAssignmentTests {
    @Test("Matches brute force on random matrices")
    func matchesBruteForce() {
        var random = SeededRandom(seed: 7)
        for size in 1...6 {
            for _ in 0..<30 {
                let weights = (0..<size).map { _ in (0..<size).map { _ in Int.random(in: 0...20, using: &random) } }
                let columns = MaximumWeightAssignment.solve(weights)
                #expect(Set(columns).count == size)
                let total = columns.enumerated().reduce(0) { $0 + weights[$1.offset][$1.element] }
                #expect(total == Self.bestTotal(weights))
            }
        }
    }

    static func bestTotal(_ weights: [[Int]]) -> Int {
        func best(row: Int, used: Set<Int>) -> Int {
            if row == weights.count { return 0 }
            return weights.indices.filter { !used.contains($0) }
                .map { weights[row][$0] + best(row: row + 1, used: used.union([$0])) }.max()!
        }
        return best(row: 0, used: [])
    }
}
