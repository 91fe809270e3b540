import FoundationEssentials
import MdevKube
import Testing

@Suite("The condition's lastTransitionTime across agent restarts")
struct ConditionTransitionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z
    static let nowText = "2027-01-15T08:00:00Z"

    func condition(_ status: String, _ time: String) -> NodeReporter.Condition? {
        let json = #"{"metadata": {"name": "n"}, "status": {"conditions": [{"type": "MediatedDevicesReady", "status": "\#(status)", "lastTransitionTime": "\#(time)"}]}}"#
        return (try? JSONDecoder().decode(KubeObject.self, from: Data(json.utf8))).flatMap(NodeReporter.Condition.init(node:))
    }

    @Test("The same status keeps the cluster's time; another status, no condition or a malformed time: now")
    func transition() {
        let notReady = condition("False", "2020-01-01T00:00:00Z")
        #expect(notReady != nil)
        #expect(NodeReporter.Condition.transition(of: notReady, ready: false, now: Self.now) == "2020-01-01T00:00:00Z")
        #expect(NodeReporter.Condition.transition(of: notReady, ready: true, now: Self.now) == Self.nowText)
        #expect(NodeReporter.Condition.transition(of: nil, ready: false, now: Self.now) == Self.nowText)
        for malformed in ["2020-01-01T00:00:00.5Z", "2020-01-01 00:00:00Z", "yesterday", "", "2020-01-01T00:00:00Z\n"] {
            #expect(NodeReporter.Condition.transition(of: condition("False", malformed), ready: false, now: Self.now) == Self.nowText, "\(malformed)")
        }
    }
}
