import Foundation
import Testing

@testable import MdevModel

/// How the planner treats NVIDIA's MIG-backed vGPU types (``MdevType/gpuInstanceProfile``): usable where the
/// GPU's MIG mode is on, or everywhere a GPU has MIG when this program turns it on (`manageMIG`).
@Suite("Planner: MIG-backed types")
struct MIGPlanningTests {
    /// Two functions of one A100-like GPU: a time-sliced type and a MIG-backed one (profile 19, seven per GPU).
    func gpu(_ name: String, migEnabled: Bool, migAvailable: Int = 0) -> [Parent] {
        (4...5).map { function in
            var types = [MdevType(id: "nvidia-700", name: "NVIDIA A100-1-5C", availableInstances: migAvailable, capacity: 7, gpuInstanceProfile: 19)]
            if !migEnabled { types.append(MdevType(id: "nvidia-706", name: "NVIDIA A100-10C", availableInstances: 1, capacity: 4)) }
            return Parent(
                name: "\(name.dropLast(1))\(function)", card: name, driver: "nvidia", types: types, instanceLimit: 1,
                interface: .nvidiaVendorSpecific, migEnabled: migEnabled)
        }
    }

    func plan(_ parents: [Parent], _ types: [String], manageMIG: Bool) -> Plan {
        Planner.plan(PlanningInput(
            inventory: Inventory(parents: parents), wanted: WantedTypes(types: types, source: .global), hostKey: HostKey(nodeName: "node01"),
            settings: ReconcilerSettings(manageMIG: manageMIG), nodeName: "node01"))
    }

    @Test("MIG mode off, without manageMIG: the MIG-backed type is not planned, the next wanted one is")
    func offWithoutManageMIG() {
        let plan = plan(gpu("0000:41:00.0", migEnabled: false), ["NVIDIA_A100-1-5C", "NVIDIA_A100-10C"], manageMIG: false)
        #expect(plan.parents.map(\.type) == ["nvidia-706", "nvidia-706"])
        let only = self.plan(gpu("0000:41:00.0", migEnabled: false), ["NVIDIA_A100-1-5C"], manageMIG: false)
        #expect(only.parents.allSatisfy { $0.type == nil && $0.create.isEmpty })
    }

    @Test("MIG mode off, with manageMIG: the MIG-backed type is the GPU's target, nothing created before instances exist")
    func offWithManageMIG() {
        let plan = plan(gpu("0000:41:00.0", migEnabled: false), ["NVIDIA_A100-1-5C", "NVIDIA_A100-10C"], manageMIG: true)
        #expect(plan.parents.map(\.type) == ["nvidia-700", "nvidia-700"])
        #expect(plan.parents.allSatisfy { $0.create.isEmpty })
    }

    @Test("MIG mode on (the host's own doing): planned with or without manageMIG, one vGPU per free instance")
    func onEitherWay() {
        for manageMIG in [false, true] {
            let plan = plan(gpu("0000:41:00.0", migEnabled: true, migAvailable: 1), ["NVIDIA_A100-1-5C"], manageMIG: manageMIG)
            #expect(plan.layout == ["0000:41:00.4: nvidia-700 ×1", "0000:41:00.5: nvidia-700 ×1"])
        }
    }

    @Test("Two GPUs, one with MIG mode on: without manageMIG the ring gives the MIG-backed type only to that one")
    func ringAcrossModes() {
        let parents = gpu("0000:41:00.0", migEnabled: true, migAvailable: 1) + gpu("0000:42:00.0", migEnabled: false)
        let types = ["NVIDIA_A100-1-5C", "NVIDIA_A100-10C"]
        #expect(plan(parents, types, manageMIG: false).parents.map(\.type) == ["nvidia-700", "nvidia-700", "nvidia-706", "nvidia-706"])
        // With manageMIG both GPUs can take either; the balance gives each wanted type one GPU.
        #expect(Set(plan(parents, types, manageMIG: true).parents.compactMap(\.type)) == ["nvidia-700", "nvidia-706"])
    }
}
