import Foundation
import MdevDaemon
import MdevModel
import Testing

@testable import MdevCLI

@Suite("The status report")
struct StatusReportTests {
    @Test("An SR-IOV GPU's virtual functions are one row, with their devices and states summed up")
    func groupsVirtualFunctions() {
        let device = PlannedDevice(uuid: UUID(), type: "nvidia-1150")
        let functions = (4...6).map { function in
            DaemonStatus.ParentStatus(
                parent: "0000:3d:00.\(function)", card: "0000:3d:00.0", model: "NVIDIA L40S", type: "nvidia-1150",
                devices: function < 6 ? [device] : [], blocked: [], lastError: function == 6 ? "EPERM" : nil, stuck: false,
                toCreate: function == 6 ? 1 : 0, toRemove: 0)
        }
        let mtty = DaemonStatus.ParentStatus(
            parent: "mtty", model: "mtty", type: "mtty-1", devices: [device], blocked: [], lastError: nil, stuck: false, toCreate: 0, toRemove: 0)
        let status = DaemonStatus(
            pid: 1, updated: Date(), node: "n", configFile: "c", configGeneration: 1, configError: nil,
            wanted: WantedTypes(types: ["nvidia-1150"], source: .global), passes: 1,
            unprepared: ["0000:3d:00.0": "GPU 0000:3d:00.0 needs a reset"], parents: [mtty] + functions)
        let lines = StatusReport(status: status, live: Inventory(parents: []), daemonRunning: true).text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("0000:3d:00.0 (3 VFs)") && $0.contains("nvidia-1150  2 ") && $0.hasSuffix("+1 −0 pending, failing, not prepared") })
        #expect(lines.contains { $0.hasPrefix("mtty ") && $0.hasSuffix(" ok") })
        #expect(lines.contains("error 0000:3d:00.6: EPERM"))
        #expect(lines.contains("not prepared 0000:3d:00.0: GPU 0000:3d:00.0 needs a reset"))
    }

    @Test("A card's state beside its devices in the plan table: 'to prepare' (plan), 'not prepared' (apply), never 'ok'")
    func cardStates() {
        let kept = PlannedDevice(uuid: UUID(), type: "nvidia-700")
        let plan = Plan(node: "n", wanted: WantedTypes(types: ["nvidia-700"], source: .global), parents: [
            ParentPlan(parent: "0000:41:00.4", card: "0000:41:00.0", model: "A100", current: ["nvidia-700"], type: "nvidia-700", keep: [kept],
                       create: [], remove: [], blockers: []),
            ParentPlan(parent: "0000:42:00.4", card: "0000:42:00.0", model: "A100", current: [], type: "nvidia-700", keep: [], create: [],
                       remove: [], blockers: []),
        ])
        let rows = PlanRenderer.text(plan, cardStates: ["0000:42:00.0": "not prepared"]).split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("0000:41:00.4") && $0.hasSuffix(" ok") })
        #expect(rows.contains { $0.hasPrefix("0000:42:00.4") && $0.hasSuffix(" not prepared") }, "\(rows)")
    }
}
