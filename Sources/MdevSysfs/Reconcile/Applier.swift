import FoundationEssentials
import MdevModel

/// `apply`: the ``ReconcileEngine`` from a reading of the whole host, its writes given the daemon's deadline.
public struct Applier: Sendable {
    public let engine: ReconcileEngine

    /// - Parameters:
    ///   - writeDeadline: how long a parent's writes may take before it is reported stuck (`--write-timeout`).
    ///   - preparer: makes cards ready for their planned type first (MIG GPU instances); nil: none.
    ///   - planner: makes the plan for an inventory (config, labels and host key are fixed for one apply).
    public init(
        host: any ReconcileEngine.Host, writeDeadline: Duration = ReconcileEngine.defaultWriteDeadline, preparer: (any CardPreparing)? = nil,
        planner: @escaping @Sendable (Inventory) -> Plan
    ) {
        let writer = ParentWriter(clock: ContinuousClock(), deadline: writeDeadline) { _ in }
        engine = ReconcileEngine(host: host, writer: writer, preparer: preparer, planner: planner)
    }

    public var planner: @Sendable (Inventory) -> Plan { engine.planner }

    /// Applies and returns what happened. Only a failure to read the host at all throws.
    public func apply() async throws -> ApplyReport {
        ApplyReport(try await engine.run(reading: .everything, known: .empty))
    }

    /// Executes one plan's changes, parent by parent (``ParentExecutor``), once and without reading the host
    /// again: for checking what a single execution does when the host changed since `reading`, which the
    /// plan was made from.
    public func execute(_ plan: Plan, from reading: InventoryReading) -> ApplyReport {
        var pass = ReconcilePass(snapshot: reading.snapshot, plan: plan)
        for parent in plan.parents where parent.hasChanges {
            guard let location = reading.locations[parent.parent] else { continue }
            pass.record(ParentExecutor.execute(parent, at: location, control: engine.host))
        }
        return ApplyReport(pass)
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
        /// Why it failed, typed: the errno, and so how it is retried.
        public var cause: FailureCause = .other

        public init(
            parent: String, device: PlannedDevice?, operation: Operation, message: String, interface: ParentInterface = .mdev,
            cause: FailureCause = .other
        ) {
            self.parent = parent
            self.device = device
            self.operation = operation
            self.message = message
            self.interface = interface
            self.cause = cause
        }

        public var description: String {
            let device = device.map { " " + interface.name(of: $0) } ?? ""
            return "\(parent): \(operation.rawValue)\(device): \(message)"
        }
    }

    public var created: [PlannedDevice]
    public var removed: [PlannedDevice]
    /// The parent of each device created or removed.
    public var parents: [UUID: String]
    /// Every failure: a parent whose changes failed is not written to again in the same apply.
    public var failures: [Failure]
    /// The plan made from the host after the last round: without changes when the host matches.
    public var finalPlan: Plan
    /// What the readings left out (the same warnings `plan` prints), and why cards could not be prepared.
    public var warnings: [String]
    /// What preparing cards did (MIG mode turned on, GPU instances created or destroyed).
    public var prepared: [CardPreparation.Step]
    /// Cards that could not be prepared for their type, with why.
    public var unprepared: [String: String]
    /// The layout to remember (``ReconcilePass/layoutToRemember``).
    public var layoutToRemember: RememberedLayout?
    /// The host as the last reading left it.
    public var inventory: Inventory
    /// Whether the host matches the plan (``ReconcilePass/hostMatchesPlan``: blocked parents allowed).
    public var hostMatchesPlan: Bool
    /// Parents whose writes had not returned by the deadline (they go on in the background), sorted.
    public var stuck: [String]

    init(_ pass: ReconcilePass) {
        layoutToRemember = pass.layoutToRemember
        inventory = pass.inventory
        hostMatchesPlan = pass.hostMatchesPlan
        created = pass.created
        removed = pass.removed
        failures = pass.failures
        finalPlan = pass.plan
        warnings = pass.warnings
        prepared = pass.prepared
        unprepared = pass.unprepared
        stuck = pass.stuck.sorted()
        parents = [:]
        for outcome in pass.outcomes {
            for device in outcome.created + outcome.removed { parents[device.uuid] = outcome.parent }
        }
    }

    /// Whether the host now matches the plan, with nothing blocked, nothing failed or stuck and every card
    /// prepared.
    public var converged: Bool {
        !finalPlan.hasChanges && finalPlan.blockedParents.isEmpty && failures.isEmpty && stuck.isEmpty && unprepared.isEmpty
    }
}
