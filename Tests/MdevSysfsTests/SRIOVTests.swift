import Foundation
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevSysfs

/// NVIDIA SR-IOV GPUs in mdev mode: each virtual function is a parent of one device, the GPU is the card.
@Suite("SR-IOV GPUs in mdev mode")
struct SRIOVTests {
    @Test("Virtual functions sit at the physical function plus offset plus i × stride", arguments: [
        ("0000:41:00.0", 32, 4, "0000:41:00.4", "0000:41:04.3"),
        ("0000:81:00.0", 16, 4, "0000:81:00.4", "0000:81:02.3"),
        ("0001:01:00.0", 4, 2, "0001:01:00.2", "0001:01:00.5"),
    ])
    func virtualFunctionAddresses(pf: String, count: Int, offset: Int, first: String, last: String) {
        let vfs = HardwareProfiles.virtualFunctions(of: pf, count: count, offset: offset)
        #expect(vfs.count == count)
        #expect(vfs.first == first)
        #expect(vfs.last == last)
    }

    @Test("The reader groups virtual functions under their physical function (physfn) and limits them to one device",
          arguments: [
            ("one A16: 16 VFs at offset 4", HardwareProfiles.a16("0000:81:00.0"), ["0000:81:00.0"]),
            ("two A40s: 32 VFs each at offset 4", HardwareProfiles.a40("0000:41:00.0") + HardwareProfiles.a40("0000:61:00.0"),
             ["0000:41:00.0", "0000:61:00.0"]),
          ])
    func reader(host: String, parents: [SimulatedKernel.ParentSpec], cards: [String]) throws {
        let tree = try SysfsTreeBuilder.temporary()
        defer { tree.removeAll() }
        let kernel = SimulatedKernel(parents: parents)
        for parent in try kernel.readInventory().inventory.parents { try tree.addParent(parent) }
        let inventory = try SysfsInventoryReader(sysfsRoot: tree.sys, holderScanner: VFIOHolderScanner(procRoot: tree.proc)).read().inventory
        #expect(inventory == (try kernel.readInventory().inventory))
        #expect(Set(inventory.parents.map(\.card)) == Set(cards))
        #expect(inventory.parents.count == parents.count)
        #expect(inventory.parents.allSatisfy { $0.instanceLimit == 1 && $0.interface == .mdev })
    }

    func plan(_ kernel: SimulatedKernel, _ types: [String]) throws -> Plan {
        Planner.plan(PlanningInput(
            inventory: try kernel.readInventory().inventory, wanted: WantedTypes(types: types, source: .global),
            hostKey: HostKey(nodeName: "node01"), settings: ReconcilerSettings(), nodeName: "node01"))
    }

    /// Devices per type on each card (physical GPU).
    func cards(_ kernel: SimulatedKernel) -> [String] {
        kernel.state.withLock { state in
            let byCard = Dictionary(grouping: state.devices.values) { device in
                state.parents.first { $0.name == device.parent }.map { $0.card ?? $0.name } ?? "?"
            }
            return byCard.keys.sorted().map { card in
                let counts = Dictionary(grouping: byCard[card]!, by: \.type).map { "\($0.key) ×\($0.value.count)" }.sorted()
                return "\(card): " + counts.joined(separator: ", ")
            }
        }
    }

    @Test("One GPU: the type is chosen for the GPU and fills it as far as max_instance allows, one device per VF")
    func fillsTheGPU() async throws {
        let kernel = SimulatedKernel(parents: HardwareProfiles.a16("0000:81:00.0"))
        let eight = try plan(kernel, ["nvidia-693"])  // A16-8Q: two per GPU
        #expect(eight.parents.filter { !$0.create.isEmpty }.map(\.parent) == ["0000:81:00.4", "0000:81:00.5"])
        #expect(eight.parents.allSatisfy { $0.create.count <= 1 && $0.type == "nvidia-693" })
        let one = try plan(kernel, ["nvidia-690"])  // A16-1Q: sixteen per GPU, one per VF
        #expect(one.parents.allSatisfy { $0.create.count == 1 })
    }

    @Test("Two A40-like GPUs: the ring assigns a type per GPU, and each GPU is filled, not half of it")
    func twoGPUs() async throws {
        let kernel = SimulatedKernel(parents: HardwareProfiles.a40("0000:41:00.0") + HardwareProfiles.a40("0000:c1:00.0"))
        let report = try await applier(kernel, types: ["nvidia-558", "nvidia-557"]).apply()
        #expect(report.converged)
        #expect(report.failures.isEmpty)
        #expect(cards(kernel) == ["0000:41:00.0: nvidia-558 ×24", "0000:c1:00.0: nvidia-557 ×32"])
        let again = try await applier(kernel, types: ["nvidia-558", "nvidia-557"]).apply()
        #expect(again.created.isEmpty && again.removed.isEmpty)
    }

    @Test("Switching a GPU's type removes ours from every VF first, then fills it with the new type")
    func switchType() async throws {
        let kernel = SimulatedKernel(parents: HardwareProfiles.a16("0000:81:00.0"))
        #expect(try await applier(kernel, types: ["nvidia-693"]).apply().converged)
        #expect(cards(kernel) == ["0000:81:00.0: nvidia-693 ×2"])
        let report = try await applier(kernel, types: ["nvidia-690"]).apply()
        #expect(report.converged)
        #expect(report.failures.isEmpty)
        #expect(cards(kernel) == ["0000:81:00.0: nvidia-690 ×16"])
    }

    @Test("A VF a VM uses is never touched: the GPU keeps that type's room and is reported blocked")
    func inUseVF() async throws {
        let kernel = SimulatedKernel(parents: HardwareProfiles.a16("0000:81:00.0"))
        #expect(try await applier(kernel, types: ["nvidia-693"]).apply().converged)
        let held = try #require(kernel.devices.first)
        kernel.setHolders([DeviceHolder(pid: 12, command: "qemu")], of: held.uuid)
        let report = try await applier(kernel, types: ["nvidia-690"]).apply()
        #expect(!report.converged)
        #expect(kernel.devices.contains { $0.uuid == held.uuid })
        #expect(report.finalPlan.blockedParents.map(\.parent) == [held.parent])
        #expect(kernel.state.withLock { $0.violations }.isEmpty)
    }
}
