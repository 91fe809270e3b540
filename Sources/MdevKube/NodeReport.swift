import FoundationEssentials
import MdevDaemon
import MdevModel

/// What a node tells the cluster: the state label, the `MediatedDevicesReady` condition and the summary
/// annotation, worked out from what the agent handed the daemon and what the daemon's status file says.
public struct NodeReport: Sendable, Hashable {
    /// The value of the label `mdev-reconciler.io/state`.
    public enum State: String, Sendable, Hashable {
        case success, pending, blocked, failed, disabled
        case kubevirtManaged = "kubevirt-managed"
    }

    public var state: State
    /// The condition's reason (CamelCase) and its one-line message.
    public var reason: String
    public var message: String
    /// The annotation's value: the digest the node converged to and its counts; nil until it converged once.
    public var summary: String?

    public var ready: Bool { state == .success || state == .disabled }

    /// What the daemon's status file said when it was read.
    public enum DaemonReading: Sendable, Hashable {
        case status(DaemonStatus)
        /// The file does not exist: the daemon has not written it yet (or does not run).
        case absent
        case unreadable(String)
    }

    /// The report for `target` (nil: the cluster was never read completely), `written` (the ``InputDigest``
    /// of the files the agent wrote, nil: none yet) and the daemon's `reading`.
    public static func make(target: ClusterTarget?, written: String?, reading: DaemonReading) -> NodeReport {
        guard let target else {
            return NodeReport(state: .pending, reason: "ClusterNotRead", message: "the agent has not read the cluster's objects yet")
        }
        let handover: ClusterTarget.Handover
        switch target {
        case .keep(let reason, let message): return NodeReport(state: .failed, reason: reason, message: message)
        case .write(_, let written): handover = written
        }
        if handover == .kubevirtManaged {
            return NodeReport(
                state: .kubevirtManaged, reason: "KubeVirtManaged",
                message: "KubeVirt's virt-handler manages mediated devices here (mediatedDevicesConfiguration.enabled is not false and the DisableMDEVConfiguration gate is off)")
        }
        let status: DaemonStatus
        switch reading {
        case .absent:
            return NodeReport(state: .pending, reason: "DaemonNotReporting", message: "the daemon has written no status file yet")
        case .unreadable(let problem):
            return NodeReport(state: .failed, reason: "StatusUnreadable", message: problem)
        case .status(let read): status = read
        }
        guard let written, status.configDigest == written else {
            if let written, status.refusedDigest == written, let why = status.configError ?? status.held {
                return NodeReport(state: .failed, reason: status.configError != nil ? "ConfigRejected" : "ConfigHeld", message: why)
            }
            return NodeReport(state: .pending, reason: "ConfigNotLoaded", message: "the daemon has not loaded the config the agent wrote yet")
        }
        let summary = Self.summary(status)
        if handover == .disabled || !status.wanted.isManaging {
            return NodeReport(state: .disabled, reason: "ManagementDisabled", message: "the KubeVirt CR names no mediated device types", summary: summary)
        }
        if let hostError = status.hostError {
            return NodeReport(state: .failed, reason: "HostUnreadable", message: hostError, summary: summary)
        }
        if let failing = status.parents.first(where: { $0.lastError != nil || $0.stuck }) {
            let why = failing.lastError ?? "a write has not returned"
            return NodeReport(state: .failed, reason: "WritesFailing", message: "\(failing.parent): \(why)", summary: summary)
        }
        if let blocked = status.parents.first(where: { !$0.blocked.isEmpty }) {
            return NodeReport(state: .blocked, reason: "DevicesBlocked", message: "\(blocked.parent): \(blocked.blocked.joined(separator: "; "))", summary: summary)
        }
        if let (card, why) = status.unprepared?.sorted(by: { $0.key < $1.key }).first {
            return NodeReport(state: .blocked, reason: "CardNotPrepared", message: "\(card): \(why)", summary: summary)
        }
        if let changing = status.parents.first(where: { $0.toCreate > 0 || $0.toRemove > 0 }) {
            return NodeReport(
                state: .pending, reason: "Converging",
                message: "\(changing.parent): \(changing.toCreate) to create, \(changing.toRemove) to remove", summary: summary)
        }
        let devices = status.parents.reduce(0) { $0 + $1.devices.count }
        return NodeReport(
            state: .success, reason: "Converged",
            message: "\(devices) devices on \(status.parents.count) parents as configured", summary: summary)
    }

    /// `{"blockedParents":…,"configDigest":…,"devices":…,"parents":…,"wanted":[…]}`, keys sorted.
    static func summary(_ status: DaemonStatus) -> String {
        var summary: [String: JSONValue] = [
            "devices": .number(Double(status.parents.reduce(0) { $0 + $1.devices.count })),
            "parents": .number(Double(status.parents.count)),
            "blockedParents": .number(Double(status.parents.filter { !$0.blocked.isEmpty }.count)),
            "wanted": .array(status.wanted.types.map(JSONValue.string)),
        ]
        if let digest = status.configDigest { summary["configDigest"] = .string(digest) }
        return JSONValue.object(summary).text
    }
}
