import Foundation
import MdevModel

/// Executes plans until the host matches its plan: removes, then re-reads capacity, then creates.
///
/// Each round reads the host, plans, and executes the plan's changes; the next round sees the result.
/// A further round is needed when removals free more room than the plan could count on (shared-pool
/// drivers). Rounds stop when the plan has no changes, when a round achieved nothing, or after
/// ``maximumRounds``.
public struct Applier: Sendable {
    public let source: any InventorySource
    public let control: any MdevDeviceControl
    /// Makes the plan for an inventory (the config, labels and host key are fixed for one apply).
    public let planner: @Sendable (Inventory) -> Plan
    public var maximumRounds = 4

    public init(source: any InventorySource, control: any MdevDeviceControl, planner: @escaping @Sendable (Inventory) -> Plan) {
        self.source = source
        self.control = control
        self.planner = planner
    }

    /// Applies and returns what happened. Only a failure to read the host at all throws.
    public func apply() throws -> ApplyReport {
        var inventory = try source.readInventory().inventory
        var report = ApplyReport(finalPlan: planner(inventory))
        for _ in 0..<maximumRounds where report.finalPlan.hasChanges {
            let round = execute(report.finalPlan)
            report.created += round.created
            report.removed += round.removed
            report.parents.merge(round.parents) { _, new in new }
            report.failures = round.failures
            // A parent read whole before but not now keeps its state: it is not taken for a card gone.
            inventory = try source.readInventory().applied(to: inventory, full: true)
            report.finalPlan = planner(inventory)
            if round.created.isEmpty && round.removed.isEmpty { break }
        }
        return report
    }

    /// Executes one plan's changes, parent by parent (``ParentExecutor``). A failure stops that parent only.
    public func execute(_ plan: Plan) -> ApplyReport {
        var report = ApplyReport(finalPlan: plan)
        for parent in plan.parents where parent.hasChanges {
            let outcome = ParentExecutor.execute(parent, control: control)
            report.created += outcome.created
            report.removed += outcome.removed
            for device in outcome.created + outcome.removed { report.parents[device.uuid] = parent.parent }
            report.failures += outcome.failures
        }
        return report
    }
}

/// What an apply did, and the plan for the host as it is afterwards.
public struct ApplyReport: Sendable {
    /// A change that failed.
    public struct Failure: Sendable, Hashable, CustomStringConvertible {
        public enum Operation: String, Sendable { case create, remove }
        public var parent: String
        public var device: PlannedDevice?
        public var operation: Operation
        public var message: String
        /// The parent's interface, which decides how the device is named.
        public var interface: ParentInterface = .mdev

        public var description: String {
            let device = device.map { " " + interface.name(of: $0) } ?? ""
            return "\(parent): \(operation.rawValue)\(device): \(message)"
        }
    }

    public var created: [PlannedDevice] = []
    public var removed: [PlannedDevice] = []
    /// The parent of each device created or removed.
    public var parents: [UUID: String] = [:]
    /// Failures of the last round executed.
    public var failures: [Failure] = []
    /// The plan made from the host after the last round: without changes when the host matches.
    public var finalPlan: Plan

    /// Whether the host now matches the plan, with nothing blocked and nothing failed.
    public var converged: Bool {
        !finalPlan.hasChanges && finalPlan.blockedParents.isEmpty && failures.isEmpty
    }
}
