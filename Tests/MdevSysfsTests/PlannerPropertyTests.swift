import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// Properties of plan and apply over random hosts and configs (seeded, so every failure replays).
@Suite("Planner properties over random hosts")
struct PlannerPropertyTests {
    static let seeds: [UInt64] = Array(1...300)
    let key = HostKey(nodeName: "node01")

    /// The plan; by default the balanced one (a rebalance asked for), which is what balance is about.
    func plan(
        _ inventory: Inventory, _ types: [String], removeForeign: Bool = false, remembered: RememberedLayout? = nil,
        rebalance: Bool = true
    ) -> Plan {
        Planner.plan(PlanningInput(
            inventory: inventory, wanted: WantedTypes(types: types, source: .global), hostKey: key,
            settings: ReconcilerSettings(removeForeignDevices: removeForeign), nodeName: "node01", remembered: remembered,
            rebalance: rebalance))
    }

    /// Target cards per (model, type): what balance is about.
    func balance(_ plan: Plan, _ inventory: Inventory) -> [String: Int] {
        var counts: [String: Int] = [:]
        for parent in plan.parents {
            let model = inventory.parent(named: parent.parent)!.modelKey.joined(separator: ",")
            counts["\(model) → \(parent.type ?? "-")", default: 0] += 1
        }
        return counts
    }

    /// Why no order of sysfs listings can change a plan: the plan is a pure function of the inventory, and the
    /// inventory is a value normalised on construction (parents by name, types by id, devices by UUID). Trees
    /// made in opposite orders do not test this here: ext4 lists a directory in hash order, whatever the order
    /// of creation. So the test is of the normalisation itself; it fails if any of the sorts goes.
    @Test("Order cannot reach the planner: an inventory made from its parts in reverse order is the same value",
          arguments: seeds.prefix(100))
    func orderNormalised(seed: UInt64) async throws {
        let inventory = try RandomHosts.make(seed: seed, hostKey: key).kernel.readInventory().inventory
        let reversed = Inventory(parents: inventory.parents.reversed().map { parent in
            Parent(name: parent.name, card: parent.card, driver: parent.driver, pciID: parent.pciID,
                   types: parent.types.reversed(), devices: parent.devices.reversed(), instanceLimit: parent.instanceLimit)
        })
        #expect(reversed == inventory, "seed \(seed)")
    }

    @Test("Apply converges, is idempotent, keeps balance, and never touches foreign or in-use devices",
          arguments: seeds)
    func applyProperties(seed: UInt64) async throws {
        let host = RandomHosts.make(seed: seed, hostKey: key)
        let kernel = host.kernel
        let before = try kernel.readInventory().inventory
        let fresh = try SimulatedKernel(parents: kernel.state.withLock { $0.parents }).readInventory().inventory
        let firstPlan = plan(before, host.types)
        // Balance: every (model, type) count is the fresh host's, whatever devices exist.
        #expect(balance(firstPlan, before) == balance(plan(fresh, host.types), fresh))
        // Never plans more than a parent, or a card of several parents (an SR-IOV GPU), can take once its
        // removals are done.
        for parent in firstPlan.parents {
            guard let type = parent.type else { continue }
            let spec = kernel.state.withLock { $0.parents.first { $0.name == parent.parent }! }
            let limit = spec.rule == .virtualFunction ? 1 : spec.types.first { $0.id == type }!.maxInstances
            #expect(parent.keep.filter { $0.type == type }.count + parent.create.count <= limit)
        }
        for (card, parents) in Dictionary(grouping: firstPlan.parents, by: \.card) where parents.count > 1 {
            guard let type = parents[0].type else { continue }
            let spec = kernel.state.withLock { $0.parents.first { $0.name == parents[0].parent }! }
            let planned = parents.reduce(0) { $0 + $1.keep.filter { $0.type == type }.count + $1.create.count }
            #expect(planned <= spec.types.first { $0.id == type }!.maxInstances, "seed \(seed): card \(card)")
        }
        let report = try await applier(kernel, types: host.types, rebalance: true).apply()
        #expect(report.failures.isEmpty, "seed \(seed): \(report.failures)")
        #expect(!report.finalPlan.hasChanges, "seed \(seed)")
        // Idempotent: another apply does nothing.
        let again = try await applier(kernel, types: host.types, rebalance: true).apply()
        #expect(again.created.isEmpty && again.removed.isEmpty)
        // Foreign and in-use devices are all still there.
        let now = Set(kernel.devices.map(\.uuid))
        for device in host.initialDevices {
            if !device.holders.isEmpty || host.foreignDevices.contains(device.uuid) {
                #expect(now.contains(device.uuid), "seed \(seed): \(device.uuid) (\(device.type)) was removed")
            }
        }
        #expect(kernel.state.withLock { $0.violations }.isEmpty)
        // No SR-IOV GPU is left half filled: where its target is in place and nothing blocks, it holds as
        // many devices as the type allows, one per virtual function.
        for (card, parents) in Dictionary(grouping: report.finalPlan.parents, by: \.card) where parents.count > 1 {
            guard let type = parents[0].type, parents.allSatisfy({ $0.blockers.isEmpty }) else { continue }
            let maximum = kernel.state.withLock { $0.parents.first { $0.name == parents[0].parent }!.types.first { $0.id == type }!.maxInstances }
            let held = kernel.devices.filter { device in device.type == type && parents.contains { $0.parent == device.parent } }.count
            #expect(held == min(maximum, parents.count), "seed \(seed): \(card) holds \(held) of \(type)")
        }
        // Balance still holds after applying.
        let after = try kernel.readInventory().inventory
        #expect(balance(report.finalPlan, after) == balance(firstPlan, before))
    }

    @Test("With removeForeignDevices only in-use devices can block, and apply converges where none is held",
          arguments: seeds.prefix(100))
    func removeForeign(seed: UInt64) async throws {
        let host = RandomHosts.make(seed: seed, hostKey: key)
        let report = try await applier(host.kernel, types: host.types, removeForeign: true, rebalance: true).apply()
        #expect(report.finalPlan.blockedParents.allSatisfy { $0.blockers.allSatisfy { $0.kind == .inUse } })
        if host.initialDevices.allSatisfy({ $0.holders.isEmpty }) {
            #expect(report.converged, "seed \(seed)")
        }
    }

    /// Each parent's target type.
    func targets(_ plan: Plan) -> [String: String] {
        Dictionary(uniqueKeysWithValues: plan.parents.compactMap { parent in parent.type.map { (parent.parent, $0) } })
    }

    @Test("An unchanged list: cards going never remove a device on a card that stays; coming back restores the balanced layout, without removals",
          arguments: seeds.prefix(150))
    func cardsGoAndComeBack(seed: UInt64) async throws {
        let host = RandomHosts.make(seed: seed, hostKey: key)
        let kernel = host.kernel
        var remembered: RememberedLayout?
        let first = try await applyRemembering(kernel, types: host.types, remembered: &remembered, rebalance: true)
        // A list of only unknown types on a host with devices of ours is held: nothing changed, nothing to remember.
        if first.finalPlan.held != nil {
            #expect(first.removed.isEmpty && first.created.isEmpty && remembered == nil, "seed \(seed)")
            return
        }
        try #require(remembered != nil, "seed \(seed): a converged apply leaves a layout to remember")
        let balanced = targets(first.finalPlan)
        // Not asked to rebalance, the remembered layout changes nothing.
        #expect(!plan(try kernel.readInventory().inventory, host.types, remembered: remembered, rebalance: false).hasChanges, "seed \(seed)")
        var random = SeededRandom(seed: seed &* 7919)
        let cards = Set(first.finalPlan.parents.map(\.card)).sorted()
        let gone = Set(cards.filter { _ in Bool.random(using: &random) })
        let specs = kernel.state.withLock { $0.parents.filter { gone.contains($0.card ?? $0.name) } }
        for spec in specs { kernel.removeParent(named: spec.name) }
        let during = plan(try kernel.readInventory().inventory, host.types, remembered: remembered, rebalance: false)
        #expect(during.parents.allSatisfy { $0.remove.isEmpty }, "seed \(seed): cards \(gone.sorted()) went; removals planned")
        for parent in during.parents { #expect(parent.type == balanced[parent.parent], "seed \(seed): \(parent.parent) changed type") }
        let applied = try await applyRemembering(kernel, types: host.types, remembered: &remembered)
        #expect(applied.removed.isEmpty, "seed \(seed)")
        // A parent whose device was held when its card went is still there: only those that went come back.
        let stayed = Set(kernel.state.withLock { $0.parents.map(\.name) })
        for spec in specs where !stayed.contains(spec.name) { kernel.addParent(spec) }
        let back = try await applyRemembering(kernel, types: host.types, remembered: &remembered)
        #expect(back.removed.isEmpty, "seed \(seed)")
        #expect(targets(back.finalPlan) == balanced, "seed \(seed): cards \(gone.sorted()) came back")
        #expect(kernel.state.withLock { $0.violations }.isEmpty)
    }

    @Test("A changed list plans the balanced layout: the plan a rebalance asked for makes", arguments: seeds.prefix(150))
    func changedList(seed: UInt64) async throws {
        let host = RandomHosts.make(seed: seed, hostKey: key)
        var remembered: RememberedLayout?
        _ = try await applyRemembering(host.kernel, types: host.types, remembered: &remembered, rebalance: true)
        let changed = host.types.reversed() + ["nvidia-230"]
        let inventory = try host.kernel.readInventory().inventory
        let planned = plan(inventory, changed, remembered: remembered, rebalance: false)
        #expect(planned.parents == plan(inventory, changed, rebalance: true).parents, "seed \(seed)")
        #expect(planned.unserved.isEmpty && planned.rebalanceMoves.isEmpty, "seed \(seed)")
    }
}
