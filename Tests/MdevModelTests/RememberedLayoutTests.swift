import Foundation
import MdevTestSupport
import Testing

@testable import MdevModel

/// Removals only for a real reason: a remembered layout keeps every card's type while the hardware changes.
@Suite("Planner: the remembered layout")
struct RememberedLayoutTests {
    let docsTypes = ["nvidia-222", "nvidia-228", "nvidia-105", "nvidia-108"]
    let threeT4 = ["0000:3b:00.0", "0000:3c:00.0", "0000:3d:00.0"]

    /// Makes the kernel hold what `plan` wants (creates and removes), as a converged apply leaves it.
    func execute(_ plan: Plan, on kernel: SimulatedKernel) throws {
        for parent in plan.parents {
            for device in parent.remove { try kernel.remove(device.uuid) }
            for device in parent.create { kernel.addDevice(device.uuid, type: device.type, on: parent.parent) }
        }
    }

    /// Three T4 cards with the docs' list, converged: 222×16 / 228×2 / 222×16, and the layout to remember.
    func convergedThreeT4() throws -> (SimulatedKernel, RememberedLayout) {
        let kernel = SimulatedKernel(parents: threeT4.map(HardwareProfiles.t4))
        let plan = try makePlan(kernel, types: docsTypes)
        try execute(plan, on: kernel)
        let again = try makePlan(kernel, types: docsTypes, remembered: plan.remembered)
        #expect(!again.hasChanges && again.unserved.isEmpty && again.rebalanceMoves.isEmpty)
        return (kernel, try #require(again.remembered))
    }

    @Test("The middle card goes: both 222 cards keep their devices; 228 is unserved, and what a rebalance would do is said")
    func middleCardGoes() throws {
        let (kernel, remembered) = try convergedThreeT4()
        #expect(remembered.cards == ["0000:3b:00.0": "nvidia-222", "0000:3c:00.0": "nvidia-228", "0000:3d:00.0": "nvidia-222"])
        kernel.removeParent(named: "0000:3c:00.0")
        let plan = try makePlan(kernel, types: docsTypes, remembered: remembered)
        #expect(!plan.hasChanges)
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3d:00.0: nvidia-222 ×16"])
        #expect(plan.unserved.map(\.message) == ["nvidia-228: wanted, no card since 0000:3c:00.0 went away"])
        #expect(plan.rebalanceMoves.map(\.message) == ["rebalance would move 0000:3d:00.0 nvidia-222 → nvidia-228, removing 16 idle devices"])
        // The card that went away stays remembered, so it gets its type back.
        #expect(plan.remembered == remembered)
        // Today's eager behaviour, asked for once or always.
        let rebalanced = try makePlan(kernel, types: docsTypes, remembered: remembered, rebalance: true)
        #expect(rebalanced.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3d:00.0: nvidia-228 ×2"])
        #expect(rebalanced.parents[1].remove.count == 16 && rebalanced.unserved.isEmpty)
        #expect(rebalanced.remembered?.cards == ["0000:3b:00.0": "nvidia-222", "0000:3d:00.0": "nvidia-228"])
        let eager = Planner.plan(PlanningInput(
            inventory: try kernel.readInventory().inventory, wanted: WantedTypes(types: docsTypes, source: .global),
            hostKey: HostKey(nodeName: "node01"), settings: ReconcilerSettings(rebalance: .onHardwareChange), nodeName: "node01",
            remembered: remembered))
        #expect(eager.parents == rebalanced.parents)
    }

    @Test("The card plugged again gets 228 back, with no removal elsewhere")
    func cardComesBack() throws {
        let (kernel, remembered) = try convergedThreeT4()
        kernel.removeParent(named: "0000:3c:00.0")
        let during = try makePlan(kernel, types: docsTypes, remembered: remembered)
        kernel.addParent(HardwareProfiles.t4("0000:3c:00.0"))
        let plan = try makePlan(kernel, types: docsTypes, remembered: during.remembered)
        #expect(plan.parents.allSatisfy { $0.remove.isEmpty })
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
        #expect(plan.unserved.isEmpty && plan.rebalanceMoves.isEmpty)
    }

    @Test("A new card takes the type that restores the per-model counts, as on a host with no layout remembered")
    func newCard() throws {
        let (kernel, remembered) = try convergedThreeT4()
        kernel.addParent(HardwareProfiles.t4("0000:3e:00.0"))
        let plan = try makePlan(kernel, types: docsTypes, remembered: remembered)
        #expect(plan.layout.last == "0000:3e:00.0: nvidia-228 ×2")
        #expect(plan.parents.dropLast().allSatisfy { !$0.hasChanges })
        #expect(plan.parents == (try makePlan(kernel, types: docsTypes, rebalance: true)).parents)
        // A new card while another is gone fills the gap the gone card left.
        kernel.removeParent(named: "0000:3c:00.0")
        let gap = try makePlan(kernel, types: docsTypes, remembered: remembered)
        #expect(gap.layout.last == "0000:3e:00.0: nvidia-228 ×2")
        #expect(gap.unserved.isEmpty)
    }

    @Test("A changed list rebalances: the same plan as a rebalance asked for")
    func changedList() throws {
        let (kernel, remembered) = try convergedThreeT4()
        kernel.removeParent(named: "0000:3c:00.0")
        let changed = ["nvidia-222", "nvidia-228"]
        let plan = try makePlan(kernel, types: changed, remembered: remembered)
        #expect(plan.parents == (try makePlan(kernel, types: changed, rebalance: true)).parents)
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3d:00.0: nvidia-228 ×2"])
        #expect(plan.remembered?.wantedDigest == RememberedLayout.digest(of: WantedTypes(types: changed, source: .global)))
        // Where the list came from does not count, its order does.
        #expect(RememberedLayout.digest(of: WantedTypes(types: changed, source: .nodeOverride(entries: [0])))
            == RememberedLayout.digest(of: WantedTypes(types: changed, source: .global)))
        #expect(RememberedLayout.digest(of: WantedTypes(types: changed.reversed(), source: .global))
            != RememberedLayout.digest(of: WantedTypes(types: changed, source: .global)))
    }

    @Test("No layout remembered (lost, or kept by no earlier version): cards holding devices of ours keep their type")
    func noLayoutKnown() throws {
        let (kernel, _) = try convergedThreeT4()
        kernel.removeParent(named: "0000:3c:00.0")
        let plan = try makePlan(kernel, types: docsTypes)
        #expect(!plan.hasChanges)
        #expect(plan.unserved.map(\.message) == ["nvidia-228: wanted, no card while the layout is kept"])
        // A host with no devices of ours gets the fresh layout.
        let fresh = try makePlan(SimulatedKernel(parents: threeT4.map(HardwareProfiles.t4)), types: docsTypes)
        #expect(fresh.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
    }

    @Test("A remembered type the card no longer has, or the list no longer names, pins nothing")
    func stalePin() throws {
        let (kernel, remembered) = try convergedThreeT4()
        var stale = remembered
        stale.cards["0000:3b:00.0"] = "nvidia-999"
        let plan = try makePlan(kernel, types: docsTypes, remembered: stale)
        #expect(plan.layout == ["0000:3b:00.0: nvidia-222 ×16", "0000:3c:00.0: nvidia-228 ×2", "0000:3d:00.0: nvidia-222 ×16"])
        #expect(!plan.hasChanges)
        #expect(plan.remembered?.cards["0000:3b:00.0"] == "nvidia-222")
    }

    @Test("A record that disagrees with the devices of a card loses: what a card serves is not removed because of a record")
    func recordDisagrees() throws {
        let (kernel, remembered) = try convergedThreeT4()
        var wrong = remembered
        wrong.cards["0000:3b:00.0"] = "nvidia-228"
        wrong.cards["0000:3c:00.0"] = "nvidia-222"
        let plan = try makePlan(kernel, types: docsTypes, remembered: wrong)
        #expect(!plan.hasChanges)
        #expect(plan.remembered == remembered)
    }

    @Test("A list naming only types no card has holds every device; an explicit empty list or --allow-removal-of-all removes")
    func typoHolds() throws {
        let (kernel, _) = try convergedThreeT4()
        let typo = ["nvidia-22", "GRID_T4-1b"]
        let held = try makePlan(kernel, types: typo)
        #expect(held.held?.types == typo)
        #expect(!held.hasChanges)
        #expect(held.parents.map(\.keep.count) == [16, 2, 16])
        let allowed = try makePlan(kernel, types: typo, allowRemovalOfAll: true)
        #expect(allowed.held == nil)
        #expect(allowed.parents.reduce(0) { $0 + $1.remove.count } == 34)
        let empty = try makePlan(kernel, types: [])
        #expect(empty.held == nil && empty.parents.reduce(0) { $0 + $1.remove.count } == 34)
        // With no device of ours there is nothing to protect: the plan says what it would do (nothing).
        let bare = try makePlan(SimulatedKernel(parents: threeT4.map(HardwareProfiles.t4)), types: typo)
        #expect(bare.held == nil && !bare.hasChanges)
    }
}
