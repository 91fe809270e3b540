import MdevModel

/// What a pass reads before it plans: every parent, or only some (those events touched, retries that came due).
public enum ReadScope: Sendable, Hashable {
    case everything
    case parents(Set<String>)
}

extension InventorySource {
    /// Reads what `scope` names.
    public func read(_ scope: ReadScope) throws -> InventoryReading {
        switch scope {
        case .everything: try readInventory()
        case .parents(let names): try readParents(names)
        }
    }
}

/// The one reconcile loop, used by `apply` and by every pass of the daemon.
///
/// A pass takes a reading, plans the whole host, executes each parent's changes through the writer, re-reads
/// exactly the cards written to (every function of a GPU: one write changes what all of them offer), and
/// repeats while a round made progress, at most ``maximumRounds`` times: a shared-pool driver's removals free
/// room the first plan could not count on. One policy for parents that do not converge: a parent whose
/// changes failed, or whose writes missed the writer's deadline (stuck), is not written to again in this
/// pass; a parent blocked by devices in use or not read completely has no changes to write.
public struct ReconcileEngine: Sendable {
    /// What the engine reads and writes through: sysfs, or a simulated kernel in tests.
    public typealias Host = InventorySource & MdevDeviceControl

    public let host: any Host
    public let writer: any ParentWriting
    /// Makes the plan for an inventory (config, labels and host key are fixed for one pass).
    public let planner: @Sendable (Inventory) -> Plan
    /// Makes cards ready for their planned type before devices are written (MIG GPU instances); nil: none.
    public let preparer: (any CardPreparing)?
    /// Rounds of write-then-reread within one pass.
    public static let maximumRounds = 4
    /// How long a parent's writes may take by default before it is stuck (`--write-timeout`).
    public static let defaultWriteDeadline: Duration = .seconds(10)

    public init(
        host: any Host, writer: any ParentWriting, preparer: (any CardPreparing)? = nil, planner: @escaping @Sendable (Inventory) -> Plan
    ) {
        self.host = host
        self.writer = writer
        self.preparer = preparer
        self.planner = planner
    }

    /// Runs one pass.
    /// - Parameters:
    ///   - scope: what to read first; nil plans from `known` as it is.
    ///   - known: what was known of the host before this pass (``HostSnapshot/empty`` for `apply`).
    ///   - skipping: parents never written to in this pass (their writes are still in flight).
    ///   - prepared: called with what preparing cards did as soon as it is done (the daemon journals it then,
    ///     before the writes it made possible).
    ///   - observe: called with each parent's plan and outcome as soon as its writes returned (the daemon
    ///     journals them then).
    /// - Throws: only when the first reading fails: nothing is planned from a host that could not be read.
    public func run(
        reading scope: ReadScope?, known: HostSnapshot, skipping: Set<String> = [],
        prepared: @Sendable ([CardPreparation.Step]) async -> Void = { _ in },
        observe: @Sendable (ParentPlan, ParentExecutor.Outcome) async -> Void = { _, _ in }
    ) async throws -> ReconcilePass {
        var first: InventoryReading?
        if let scope {
            let host = host
            first = try await BlockingCall.run { try host.read(scope) }
        }
        var pass = ReconcilePass(known: known, reading: first, full: scope == .everything, planner: planner)
        var skipped = skipping
        for _ in 0..<Self.maximumRounds {
            var progressed = false
            if let preparer {
                // Cards first (MIG mode, GPU instances): what they make is read back and planned in this round.
                let (plan, inventory) = (pass.plan, pass.inventory)
                let preparation = await BlockingCall.run { preparer.prepare(plan, inventory: inventory) }
                pass.prepared += preparation.done
                if !preparation.done.isEmpty { await prepared(preparation.done) }
                pass.unprepared = preparation.problems
                let warnings = preparation.warnings + preparation.problems.sorted { $0.key < $1.key }.map(\.value)
                pass.warnings += warnings.filter { !pass.warnings.contains($0) }
                if !preparation.changed.isEmpty {
                    progressed = true
                    guard await reread(cards: preparation.changed, skipping: skipped, into: &pass, what: "the cards prepared") else { break }
                }
            }
            let work = pass.plan.parents.filter {
                $0.hasChanges && !skipped.contains($0.parent) && !pass.failed.contains($0.parent)
            }
            if work.isEmpty {
                if progressed { continue }
                break
            }
            for parent in work {
                // Every parent planned was read, so its location is known: writes go where that reading found it.
                guard let location = pass.snapshot.locations[parent.parent] else {
                    pass.record(ParentExecutor.Outcome(parent: parent.parent, failures: [
                        .init(parent: parent.parent, device: nil, operation: .create, message: "\(NotDiscoveredError("parent \(parent.parent)"))"),
                    ]))
                    continue
                }
                guard let outcome = await writer.execute(parent, at: location, control: host) else {
                    skipped.insert(parent.parent)
                    pass.stuck.insert(parent.parent)
                    continue
                }
                pass.record(outcome)
                await observe(parent, outcome)
                progressed = progressed || !outcome.created.isEmpty || !outcome.removed.isEmpty
            }
            // Capacity changes emit no event, nor do NVIDIA's vendor-specific writes: read back every parent
            // of the cards written to.
            let written = Set(work.map(\.parent)).subtracting(skipped)
            guard await reread(cards: Set(work.map(\.card)), and: written, skipping: skipped, into: &pass, what: "the parents written to") else { break }
            if !progressed { break }
        }
        return pass
    }

    /// Reads every parent of `cards` (and `parents`) again, but those skipped, into the pass and plans anew.
    /// Returns false, with a warning, when the reading failed: planning again from what was left unread could
    /// repeat writes, so the pass ends.
    private func reread(
        cards: Set<String>, and parents: Set<String> = [], skipping skipped: Set<String>, into pass: inout ReconcilePass, what: String
    ) async -> Bool {
        let names = Set(pass.inventory.parents.filter { cards.contains($0.card) }.map(\.name)).union(parents).subtracting(skipped)
        guard !names.isEmpty else { return true }
        do {
            let host = host
            pass.take(try await BlockingCall.run { try host.readParents(names) }, full: false, planner: planner)
            return true
        } catch {
            pass.warnings.append("cannot read \(what): \(error)")
            return false
        }
    }
}

/// What one pass of the ``ReconcileEngine`` found and did.
public struct ReconcilePass: Sendable {
    /// What is known after the pass: its readings merged into what was known.
    public var snapshot: HostSnapshot
    /// The inventory after the pass.
    public var inventory: Inventory { snapshot.inventory }
    /// The plan for that inventory: without changes when the host matches.
    public var plan: Plan
    /// Each parent's outcome, in the order the writes ran.
    public var outcomes: [ParentExecutor.Outcome] = []
    /// Parents whose changes failed in this pass.
    public var failed: Set<String> = []
    /// Parents whose writes did not return within the writer's deadline.
    public var stuck: Set<String> = []
    /// The readings' warnings (parents or types left out), re-reads that failed, and cards that could not be
    /// prepared (``CardPreparation/problems``).
    public var warnings: [String] = []
    /// What preparing cards did (``CardPreparation/done``), in order.
    public var prepared: [CardPreparation.Step] = []
    /// Cards the last round could not prepare, with why (``CardPreparation/problems``).
    public var unprepared: [String: String] = [:]

    /// What is known after `reading` (nil: nothing read), and the plan for it.
    init(known: HostSnapshot, reading: InventoryReading?, full: Bool, planner: (Inventory) -> Plan) {
        snapshot = reading?.applied(to: known, full: full) ?? known
        plan = planner(snapshot.inventory)
        warnings = reading?.warnings ?? []
    }

    init(snapshot: HostSnapshot, plan: Plan) {
        self.snapshot = snapshot
        self.plan = plan
    }

    /// Merges a reading into what is known, and plans again from it.
    mutating func take(_ reading: InventoryReading, full: Bool, planner: (Inventory) -> Plan) {
        snapshot = reading.applied(to: snapshot, full: full)
        plan = planner(snapshot.inventory)
        // A warning a re-read gives again is said once.
        warnings += reading.warnings.filter { !warnings.contains($0) }
    }

    mutating func record(_ outcome: ParentExecutor.Outcome) {
        outcomes.append(outcome)
        if !outcome.failures.isEmpty { failed.insert(outcome.parent) }
    }

    /// The layout to remember after this pass: the plan's, when the host matches it (no changes left, no
    /// write failed or stuck; a parent blocked by a device in use still counts, its target is decided).
    /// Nil when the pass did not get there, or when the plan keeps the remembered layout as it is.
    public var layoutToRemember: RememberedLayout? {
        hostMatchesPlan ? plan.remembered : nil
    }

    /// Whether the host matches the plan after the pass: no changes left, no write failed or stuck, every card
    /// prepared (a parent blocked by a device in use still counts: its target is decided).
    public var hostMatchesPlan: Bool {
        !plan.hasChanges && failed.isEmpty && stuck.isEmpty && unprepared.isEmpty
    }

    /// Every device created, in order.
    public var created: [PlannedDevice] { outcomes.flatMap(\.created) }
    /// Every device removed, in order.
    public var removed: [PlannedDevice] { outcomes.flatMap(\.removed) }
    /// Every failure, in order.
    public var failures: [ApplyReport.Failure] { outcomes.flatMap(\.failures) }
}
