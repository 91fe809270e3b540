import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// Properties of plan and apply in NVIDIA's vendor-specific mode over random hosts (seeded).
@Suite("Vendor-specific mode properties over random hosts")
struct VendorPropertyTests {
    static let seeds: [UInt64] = Array(1...80)
    let key = HostKey(nodeName: "node01")

    /// The balanced plan (a rebalance asked for): what balance is about.
    func plan(_ inventory: Inventory, _ types: [String]) -> Plan {
        Planner.plan(PlanningInput(
            inventory: inventory, wanted: WantedTypes(types: types, source: .global), hostKey: key, settings: ReconcilerSettings(),
            nodeName: "node01", rebalance: true))
    }

    /// Target GPUs per (model, type).
    func balance(_ plan: Plan, _ inventory: Inventory) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (_, parents) in Dictionary(grouping: plan.parents, by: \.card) {
            let model = inventory.parent(named: parents[0].parent)!.pciID ?? "?"
            counts["\(model) → \(parents[0].type ?? "-")", default: 0] += 1
        }
        return counts
    }

    @Test("Apply converges, is idempotent, keeps balance, fills every GPU it can, and never touches in-use or foreign vGPUs",
          arguments: seeds)
    func applyProperties(seed: UInt64) async throws {
        let host = try RandomVendorHosts.make(seed: seed, hostKey: key)
        let before = try host.backend.readInventory().inventory
        let firstPlan = plan(before, host.types)
        // The order functions and types are read in cannot reach the planner: the inventory is normalised.
        let shuffled = Inventory(parents: before.parents.reversed().map { parent in
            Parent(name: parent.name, card: parent.card, driver: parent.driver, pciID: parent.pciID, types: parent.types.reversed(),
                   devices: parent.devices, instanceLimit: parent.instanceLimit, interface: parent.interface)
        })
        #expect(shuffled == before, "seed \(seed)")
        let fresh = try VendorVGPUBackend(files: SimulatedVendorGPUs(gpus: host.gpus.state.withLock { $0.gpus }), record: VendorVGPURecord(path: nil))
            .readInventory().inventory
        #expect(balance(firstPlan, before) == balance(plan(fresh, host.types), fresh), "seed \(seed)")

        let applier = Applier(host: host.backend) { plan($0, host.types) }
        let report = try await applier.apply()
        #expect(report.failures.isEmpty, "seed \(seed): \(report.failures)")
        #expect(!report.finalPlan.hasChanges, "seed \(seed)")
        #expect(host.gpus.state.withLock { $0.violations }.isEmpty, "seed \(seed)")
        // In-use and foreign vGPUs keep their type.
        let current = host.gpus.state.withLock { $0.current }
        for (function, initial) in host.initial where initial.held || !initial.ours {
            #expect(current[function] == initial.number, "seed \(seed): \(function) changed")
        }
        // No GPU is left half filled: where the target is in place and nothing blocks, no free function
        // still offers the target type.
        for (card, parents) in Dictionary(grouping: report.finalPlan.parents, by: \.card) {
            guard let type = parents[0].type, parents.allSatisfy({ $0.blockers.isEmpty }),
                let number = VGPUTypeListing.number(ofTypeID: type)
            else { continue }
            let offering = try parents.filter { current[$0.parent] == nil }
                .filter { try CreatableVGPUTypes.parse(host.gpus.creatableTypes(of: $0.parent)).contains { $0.number == number } }
            #expect(offering.isEmpty, "seed \(seed): \(card) could still take \(type) on \(offering.map(\.parent))")
        }
        // Idempotent.
        let writes = host.gpus.state.withLock { $0.writes.count }
        _ = try await applier.apply()
        #expect(host.gpus.state.withLock { $0.writes.count } == writes, "seed \(seed)")
        let after = try host.backend.readInventory().inventory
        #expect(balance(report.finalPlan, after) == balance(firstPlan, before), "seed \(seed)")
    }

    @Test("An unchanged list: GPUs going never reconfigure a function of a GPU that stays; coming back restores the layout, with no clear",
          arguments: seeds)
    func gpusGoAndComeBack(seed: UInt64) async throws {
        let host = try RandomVendorHosts.make(seed: seed, hostKey: key)
        var remembered: RememberedLayout?
        let apply = { (rebalance: Bool) in
            let report = try await Applier(host: host.backend) { [remembered, key] in
                Planner.plan(PlanningInput(
                    inventory: $0, wanted: WantedTypes(types: host.types, source: .global), hostKey: key, settings: ReconcilerSettings(),
                    nodeName: "node01", remembered: remembered, rebalance: rebalance))
            }.apply()
            if let layout = report.layoutToRemember { remembered = layout }
            return report
        }
        let first = try await apply(true)
        guard first.finalPlan.held == nil else { return }
        let targets = { (plan: Plan) in Dictionary(grouping: plan.parents, by: \.card).compactMapValues { $0.first?.type } }
        let balanced = targets(first.finalPlan)
        var random = SeededRandom(seed: seed &* 7919)
        let gpus = host.gpus.state.withLock { $0.gpus }
        let gone = gpus.filter { _ in Bool.random(using: &random) }
        for gpu in gone { host.gpus.removeGPU(named: gpu.name) }
        let during = try await apply(false)
        #expect(during.removed.isEmpty, "seed \(seed): GPUs \(gone.map(\.name)) went; functions cleared")
        for (card, type) in targets(during.finalPlan) { #expect(balanced[card] == type, "seed \(seed): \(card) changed type") }
        for gpu in gone { host.gpus.addGPU(gpu) }
        let back = try await apply(false)
        #expect(back.removed.isEmpty, "seed \(seed)")
        #expect(targets(back.finalPlan) == balanced, "seed \(seed): GPUs \(gone.map(\.name)) came back")
        #expect(host.gpus.state.withLock { $0.violations }.isEmpty, "seed \(seed)")
    }
}
