import FoundationEssentials
import Glibc
import MdevModel

/// Tells the API server a ``NodeReport``: the state label and summary annotation on the Node, and the
/// `MediatedDevicesReady` condition in its status, both by server-side apply under the field manager
/// `mdev-reconciler` (so no other writer's fields are touched, and a field this agent stops setting goes
/// away); and an `events.k8s.io/v1` Event when the state or reason changes, throttled (``EventThrottle``).
public struct NodeReporter: Sendable {
    public static let stateLabel = "mdev-reconciler.io/state"
    public static let summaryAnnotation = "mdev-reconciler.io/summary"
    public static let conditionType = "MediatedDevicesReady"
    public static let fieldManager = "mdev-reconciler"
    /// The status has a manager of its own: before Kubernetes 1.22 managed fields did not tell a subresource
    /// from its object, so one manager applying both would drop its label with each status apply.
    public static let statusFieldManager = "mdev-reconciler-status"
    public static let eventNamespace = "kube-system"
    public static let controller = "mdev-reconciler.io/kube-agent"

    public var client: KubeClient
    public var nodeName: String

    public init(client: KubeClient, nodeName: String) {
        self.client = client
        self.nodeName = nodeName
    }

    /// A request the server did not accept: what was asked and its answer.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Applies the label, the annotation and the condition. `transition` is when the condition's status last
    /// changed (a timestamp as the API server writes them).
    public func apply(_ report: NodeReport, transition: String) throws(Failure) {
        let node = "/api/v1/nodes/\(nodeName)"
        var metadata: [String: JSONValue] = [
            "name": .string(nodeName), "labels": .object([Self.stateLabel: .string(report.state.rawValue)]),
        ]
        if let summary = report.summary { metadata["annotations"] = .object([Self.summaryAnnotation: .string(summary)]) }
        try send("PATCH", node + Self.applyQuery, .object(["apiVersion": "v1", "kind": "Node", "metadata": .object(metadata)]))
        let condition: JSONValue = .object([
            "type": .string(Self.conditionType), "status": .string(report.ready ? "True" : "False"),
            "reason": .string(report.reason), "message": .string(report.message),
            "lastTransitionTime": .string(transition), "lastHeartbeatTime": .string(Timestamp.seconds(Date())),
        ])
        try send(
            "PATCH", node + "/status" + "?fieldManager=\(Self.statusFieldManager)&force=true",
            .object(["apiVersion": "v1", "kind": "Node", "metadata": .object(["name": .string(nodeName)]), "status": .object(["conditions": .array([condition])])]))
    }

    static let applyQuery = "?fieldManager=\(fieldManager)&force=true"

    /// The Node's `MediatedDevicesReady` condition as the cluster has it: its status and since when.
    public struct Condition: Sendable, Hashable {
        public var status: String
        public var lastTransitionTime: String

        /// The condition in a Node object, when it has one with both fields.
        public init?(node: KubeObject) {
            let conditions = node.value["status"]?["conditions"]?.array ?? []
            guard let condition = conditions.first(where: { $0["type"]?.string == NodeReporter.conditionType }),
                let status = condition["status"]?.string, let time = condition["lastTransitionTime"]?.string
            else { return nil }
            self.status = status
            lastTransitionTime = time
        }

        /// When a report that is `ready` or not changed the condition's status last: since this condition's
        /// time when its status is the same (an agent that restarts keeps it), else now.
        public static func transition(of existing: Condition?, ready: Bool, now: Date) -> String {
            if let existing, existing.status == (ready ? "True" : "False"), Timestamp.isWellFormed(existing.lastTransitionTime) {
                return existing.lastTransitionTime
            }
            return Timestamp.seconds(now)
        }
    }

    /// Records an Event about the Node (its `uid` when known); returns its name, for a later
    /// ``countAgain(_:count:)``. An `events.k8s.io/v1` Event about an object outside namespaces must be in
    /// `kube-system` (the API server's validation).
    public func record(reason: String, note: String, warning: Bool, nodeUID: String?) throws(Failure) -> String {
        let name = "\(nodeName).\(String(UInt64.random(in: 0..<UInt64.max), radix: 16))"
        var regarding: [String: JSONValue] = ["apiVersion": "v1", "kind": "Node", "name": .string(nodeName)]
        if let nodeUID { regarding["uid"] = .string(nodeUID) }
        try send("POST", "/apis/events.k8s.io/v1/namespaces/\(Self.eventNamespace)/events", .object([
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": .object(["name": .string(name), "namespace": .string(Self.eventNamespace)]),
            "eventTime": .string(Timestamp.microseconds(Date())), "reportingController": .string(Self.controller),
            "reportingInstance": .string("kube-agent-\(nodeName)"), "action": "Reconcile",
            "reason": .string(reason), "note": .string(String(note.prefix(1024))), "type": .string(warning ? "Warning" : "Normal"),
            "regarding": .object(regarding),
        ]), contentType: "application/json")
        return name
    }

    /// The Event `name` happened again: its series counts `count`.
    public func countAgain(_ name: String, count: Int) throws(Failure) {
        try send("PATCH", "/apis/events.k8s.io/v1/namespaces/\(Self.eventNamespace)/events/\(name)", .object([
            "series": .object(["count": .number(Double(count)), "lastObservedTime": .string(Timestamp.microseconds(Date()))]),
        ]), contentType: "application/merge-patch+json")
    }

    private func send(_ method: String, _ path: String, _ body: JSONValue, contentType: String = "application/apply-patch+yaml") throws(Failure) {
        let response: KubeClient.Response
        do {
            response = try client.send(HTTPRequest(method: method, url: path, contentType: contentType, body: body.text))
        } catch {
            throw Failure(description: "\(method) \(path): \(error.description.escapingControlCharacters)")
        }
        guard (200..<300).contains(response.status) else {
            throw Failure(description: "\(method) \(path): HTTP \(response.status): \(Reflector.message(response.body))")
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

/// Kubernetes' time formats: RFC 3339 in UTC, in seconds (`Time`) or microseconds (`MicroTime`).
enum Timestamp {
    static func seconds(_ date: Date) -> String { format(date, fraction: false) }
    static func microseconds(_ date: Date) -> String { format(date, fraction: true) }

    /// Whether `text` is a timestamp of the API server's form: `YYYY-MM-DDTHH:MM:SSZ`.
    static func isWellFormed(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 else { return false }
        return bytes.enumerated().allSatisfy { index, byte in
            switch index {
            case 4, 7: byte == UInt8(ascii: "-")
            case 10: byte == UInt8(ascii: "T")
            case 13, 16: byte == UInt8(ascii: ":")
            case 19: byte == UInt8(ascii: "Z")
            default: byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            }
        }
    }

    private static func format(_ date: Date, fraction: Bool) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        if fraction {
            let micro = String(Int((interval - interval.rounded(.down)) * 1_000_000))
            text += "." + String(repeating: "0", count: 6 - micro.count) + micro
        }
        return text + "Z"
    }
}
