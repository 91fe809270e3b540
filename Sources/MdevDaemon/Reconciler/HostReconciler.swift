import FoundationEssentials
import Glibc
import Logging
import MdevModel
import MdevSysfs

/// Runs passes: keeps the host's inventory and config in memory, re-reads only what a pass asks for,
/// plans the whole host (cheap), executes only the difference, and reports what scheduling needs.
public actor HostReconciler {
    /// What the reconciler reads, writes and reports through.
    public struct Dependencies: Sendable {
        public var host: any ReconcileEngine.Host
        public var writer: any ParentWriting
        /// Reads config and labels anew (on reload and on file changes).
        public var loadConfiguration: @Sendable () throws -> ConfigFiles.Loaded
        /// The ``InputDigest`` of the inputs as they are now, asked after ``loadConfiguration`` failed.
        public var refusedDigest: @Sendable () -> String?
        public var configFile: String
        public var hostKey: HostKey
        public var nodeName: String
        public var knownParents: KnownParents
        /// Receives the status after every pass (the status file, in production).
        public var publishStatus: @Sendable (DaemonStatus) -> Void
        /// Enables the SR-IOV virtual functions of GPUs that have none, among the named devices or all (nil),
        /// calling the second argument with each GPU first (``VirtualFunctionEnabler/enable(among:before:)``);
        /// called only while `mdevReconciler.enableVirtualFunctions` is set.
        public var enableVirtualFunctions: @Sendable (Set<String>?, @escaping @Sendable (String) -> Void) -> [VirtualFunctionEnabler.Outcome]
        /// Where the layout of the last converged pass and rebalance requests are kept; nil keeps the layout in
        /// memory only (and no request can come).
        public var layoutRecord: LayoutRecord?
        /// Receives the metrics after every pass (the metrics file of `--metrics-file`); nil: none are made.
        public var publishMetrics: (@Sendable (HostMetrics) -> Void)?
        /// The program's version, for the metrics' `build_info`.
        public var version: String
        /// Makes cards ready for their planned type (MIG GPU instances); used only while
        /// `mdevReconciler.manageMIG` is set.
        public var cardPreparer: (any CardPreparing)?

        public init(
            host: any ReconcileEngine.Host, writer: any ParentWriting,
            loadConfiguration: @escaping @Sendable () throws -> ConfigFiles.Loaded, refusedDigest: @escaping @Sendable () -> String? = { nil },
            configFile: String, hostKey: HostKey,
            nodeName: String, knownParents: KnownParents = KnownParents(), publishStatus: @escaping @Sendable (DaemonStatus) -> Void = { _ in },
            enableVirtualFunctions: @escaping @Sendable (Set<String>?, @escaping @Sendable (String) -> Void) -> [VirtualFunctionEnabler.Outcome] = { _, _ in [] },
            layoutRecord: LayoutRecord? = nil, publishMetrics: (@Sendable (HostMetrics) -> Void)? = nil, version: String = "",
            cardPreparer: (any CardPreparing)? = nil
        ) {
            self.cardPreparer = cardPreparer
            self.layoutRecord = layoutRecord
            self.publishMetrics = publishMetrics
            self.version = version
            self.host = host
            self.writer = writer
            self.loadConfiguration = loadConfiguration
            self.refusedDigest = refusedDigest
            self.configFile = configFile
            self.hostKey = hostKey
            self.nodeName = nodeName
            self.knownParents = knownParents
            self.publishStatus = publishStatus
            self.enableVirtualFunctions = enableVirtualFunctions
        }
    }

    private let dependencies: Dependencies
    private let logger: Logger
    /// The config in force: the last one that loaded.
    public private(set) var configuration: ConfigFiles.Loaded
    public private(set) var configGeneration = 1
    public private(set) var configError: String?
    /// The ``InputDigest`` of the inputs rejected or held while ``configError`` or ``configHeld`` stands.
    public private(set) var refusedDigest: String?
    /// What is known of the host: the inventory and where each parent lives, as the readings left it.
    public private(set) var snapshot = HostSnapshot.empty
    public var inventory: Inventory { snapshot.inventory }
    public private(set) var passes = 0
    /// Why the host could not be read in the last pass, if it could not.
    public private(set) var hostError: String?
    /// The last failure on each parent, until a pass succeeds on it.
    private var lastFailures: [String: ApplyReport.Failure] = [:]
    private var stuck: Set<String> = []
    /// Reading warnings already logged, so a parent read again and again is not reported each time.
    private var loggedWarnings: Set<String> = []
    /// Blocker messages already logged, so a re-check does not log them again.
    private var loggedBlockers: [String: Set<String>] = [:]
    private var lastPlan: Plan?
    /// The last enablement outcome logged per GPU, so a GPU that keeps failing the same way is logged once.
    private var enablement: [String: VirtualFunctionEnabler.Outcome] = [:]
    /// The layout of the last pass that converged (``RememberedLayout``); nil while none is known.
    public private(set) var remembered: RememberedLayout?
    /// A rebalance is asked for and not yet carried out: passes plan the balanced layout until one converges.
    public private(set) var rebalancing = false
    /// Why the last config read was held as a likely typo, while the previous one stays in force.
    public private(set) var configHeld: String?
    /// Unserved-type messages already logged, so each is logged once while it lasts.
    private var loggedUnserved: Set<String> = []
    /// Whether the plan holding the host (``HeldTypes``) was logged since it began.
    private var loggedHeld = false
    /// GPUs the last pass could not make ready for their planned type, with why (``CardPreparation/problems``).
    public private(set) var unprepared: [String: String] = [:]
    /// What the metrics count since start.
    public private(set) var counters = PassCounters(triggers: [.start, .event, .reload, .configChange, .backoff])

    public init(configuration: ConfigFiles.Loaded, dependencies: Dependencies, logger: Logger) {
        self.configuration = configuration
        self.dependencies = dependencies
        self.logger = logger
        if let record = dependencies.layoutRecord {
            let loaded = record.load()
            remembered = loaded.layout
            if let problem = loaded.problem { logger.warning("\(problem)") }
            rebalancing = record.isRebalanceRequested
        }
    }

    /// Lets writes in flight finish but starts no more: the daemon is stopping.
    public nonisolated func stopStartingWrites() {
        dependencies.writer.stopStartingWrites()
    }

    /// The status as of the last pass.
    public var status: DaemonStatus { makeStatus(plan: lastPlan ?? plan()) }

    /// The metrics as of the last pass (``HostMetrics``), the daemon running.
    public var metrics: HostMetrics {
        var metrics = HostMetrics(
            version: dependencies.version, running: true, counters: counters, inventory: inventory, hostKey: dependencies.hostKey, plan: lastPlan)
        metrics.configGeneration = configGeneration
        metrics.configLoadFailed = configError != nil
        metrics.configHeld = configHeld != nil || lastPlan?.held != nil
        metrics.hostReadFailed = hostError != nil
        metrics.stuck = stuck
        metrics.unprepared = Set(unprepared.keys)
        return metrics
    }

    /// Runs one pass.
    public func run(_ request: PassRequest) async -> PassOutcome {
        passes += 1
        let started = ContinuousClock.now
        /// Counts the pass and publishes the metrics once its outcome is known.
        func count(failures: [ApplyReport.Failure], converged: Bool) {
            counters.record(trigger: request.trigger, duration: .now - started, failures: failures, converged: converged, at: Date())
            dependencies.publishMetrics?(metrics)
        }
        if request.reloadConfig { reloadConfiguration() }
        var outcome = PassOutcome()
        if configuration.config.settings.enableVirtualFunctions && (request.fullRescan || !request.parents.isEmpty) {
            await enableVirtualFunctions(among: request.fullRescan ? nil : request.parents)
        }
        stuck.subtract(request.parents)
        stuck.formUnion(request.skipping)
        let scope: ReadScope? = request.fullRescan ? .everything : request.parents.isEmpty ? nil : .parents(request.parents)
        let before = Set(inventory.parents.map(\.name))
        let pass: ReconcilePass
        do {
            // Each parent's changes are journaled as soon as its writes return, not at the end of the pass.
            pass = try await engine.run(reading: scope, known: snapshot, skipping: stuck, prepared: { steps in
                await self.journal(steps)
            }) { plan, outcome in
                await self.record(outcome, of: plan)
            }
        } catch {
            // Nothing is planned from a host that could not be read; the whole host is read again later.
            logger.error("cannot read the host, retrying: \(error)")
            hostError = "cannot read the host: \(error)"
            outcome.readFailed = true
            count(failures: [], converged: false)
            return finish(outcome, status: status)
        }
        hostError = nil
        snapshot = pass.snapshot
        unprepared = pass.unprepared
        logWarnings(pass.warnings, full: scope == .everything)
        noteParents(before: before)
        for parent in pass.stuck.sorted() {
            stuck.insert(parent)
            logger.event(.stuck, "writes to \(parent) have not returned in time; the parent is left alone until they do", fields(parent))
        }
        outcome.stuck = pass.stuck
        for result in pass.outcomes {
            if let failure = result.failures.last { outcome.failed[result.parent] = failure.cause.retryClass }
        }
        let final = pass.plan
        lastPlan = final
        logBlockers(final)
        if final.held == nil, let layout = pass.layoutToRemember {
            remember(layout)
        } else if final.held == nil, pass.hostMatchesPlan, let remembered {
            keepRecord(remembered)
        }
        logLayout(final)
        outcome.blockedInUse = Set(final.parents.filter { $0.readProblem != nil || $0.blockers.contains { $0.kind == .inUse } }.map(\.parent))
        count(failures: pass.failures, converged: pass.hostMatchesPlan)
        return finish(outcome, status: makeStatus(plan: final))
    }

    /// Ends a pass: publishes its status, whose summary line goes with the outcome to systemd.
    private func finish(_ outcome: PassOutcome, status: DaemonStatus) -> PassOutcome {
        var outcome = outcome
        outcome.summary = status.summary
        logger.debug("pass \(passes) done: \(status.summary)")
        dependencies.publishStatus(status)
        return outcome
    }

    private func plan() -> Plan {
        engine.planner(inventory)
    }

    /// The engine for the config in force.
    private var engine: ReconcileEngine {
        ReconcileEngine(
            host: dependencies.host, writer: dependencies.writer,
            preparer: configuration.config.settings.manageMIG ? dependencies.cardPreparer : nil
        ) { [planner = planner(for: configuration)] in planner($0) }
    }

    /// The planner for `configuration`, with the layout remembered and a rebalance if one is asked for.
    private func planner(for configuration: ConfigFiles.Loaded) -> @Sendable (Inventory) -> Plan {
        { [wanted = configuration.wanted, settings = configuration.config.settings, hostKey = dependencies.hostKey,
           nodeName = dependencies.nodeName, remembered, rebalancing] inventory in
            Planner.plan(PlanningInput(
                inventory: inventory, wanted: wanted, hostKey: hostKey, settings: settings, nodeName: nodeName, remembered: remembered,
                rebalance: rebalancing))
        }
    }

    /// Keeps the layout a pass converged to, in memory and in the record; a rebalance asked for is then done.
    private func remember(_ layout: RememberedLayout) {
        if layout != remembered {
            remembered = layout
            do { try dependencies.layoutRecord?.save(layout) } catch { logger.warning("cannot write the layout record: \(error)") }
        } else {
            keepRecord(layout)
        }
        guard rebalancing else { return }
        rebalancing = false
        logger.info("the rebalance asked for is done: the layout is the balanced one")
        do { try dependencies.layoutRecord?.clearRequest() } catch { logger.warning("cannot remove the rebalance request: \(error)") }
    }

    /// After a pass that kept the remembered layout: the record is written again when it no longer holds it
    /// (lost, or changed by something else while the daemon runs), so a restart keeps the layout too.
    private func keepRecord(_ layout: RememberedLayout) {
        guard let record = dependencies.layoutRecord else { return }
        let loaded = record.load()
        guard loaded.layout != layout else { return }
        logger.warning("\(loaded.problem ?? "the layout record \(record.layoutPath) no longer holds the layout in force"); written again")
        do { try record.save(layout) } catch { logger.warning("cannot write the layout record: \(error)") }
    }

    /// Journals each unserved type once while it lasts, with what a rebalance would do for it.
    private func logLayout(_ plan: Plan) {
        let messages = Dictionary(plan.unserved.map { unserved in
            let moves = plan.rebalanceMoves.filter { $0.to == unserved.type }.map(\.message)
            let message = ([unserved.message] + moves).joined(separator: "; ") + " (mdev-reconciler rebalance to restore the balance)"
            return (message, unserved.type)
        }, uniquingKeysWith: { first, _ in first })
        for (message, type) in messages.sorted(by: { $0.key < $1.key }) where !loggedUnserved.contains(message) {
            logger.event(.unserved, "\(message)", [JournalField.type: type])
        }
        loggedUnserved = Set(messages.keys)
        if let held = plan.held, !loggedHeld {
            logger.event(.configHeld, "config held: \(held.message)", [JournalField.configFile: dependencies.configFile])
        }
        loggedHeld = plan.held != nil
    }

    private func reloadConfiguration() {
        if let record = dependencies.layoutRecord, record.isRebalanceRequested, !rebalancing {
            rebalancing = true
            logger.info("a rebalance is asked for (\(record.requestPath)): planning the balanced layout")
        }
        do {
            let loaded = try dependencies.loadConfiguration()
            for warning in loaded.warnings { logger.warning("\(warning)") }
            // A list of only types no card has would empty the host: likely a typo, so the config in force stays.
            if loaded != configuration, let held = planner(for: loaded)(inventory).held {
                configError = nil
                configHeld = held.message
                refusedDigest = loaded.digest
                logger.event(.configHeld, "config held, generation \(configGeneration) stays in force: \(held.message)",
                             [JournalField.configFile: dependencies.configFile, JournalField.configGeneration: "\(configGeneration)"])
                return
            }
            if loaded != configuration {
                configGeneration += 1
                configuration = loaded
            } else {
                // The same config in other words: its digest is the one in force now.
                configuration.digest = loaded.digest
            }
            configError = nil
            configHeld = nil
            refusedDigest = nil
            logger.event(.configLoaded, "config generation \(configGeneration) in force: \(PlanDescription.wanted(loaded.wanted))",
                         [JournalField.configFile: dependencies.configFile, JournalField.configGeneration: "\(configGeneration)"])
        } catch {
            configError = "\(error)"
            refusedDigest = dependencies.refusedDigest()
            logger.event(.configRejected, "config rejected, generation \(configGeneration) stays in force: \(error)",
                         [JournalField.configFile: dependencies.configFile, JournalField.configGeneration: "\(configGeneration)"])
        }
    }

    /// Runs the enabler before the host is read, so the functions it enables are in this pass's reading.
    /// `sriov-manage` takes seconds: it runs on a Dispatch queue, off the cooperative threads.
    private func enableVirtualFunctions(among names: Set<String>?) async {
        let enable = dependencies.enableVirtualFunctions
        // With manageMIG, MIG mode goes on first for a GPU that is to get a MIG-backed type (the driver's order).
        let preparations = LockedValue<[CardPreparation]>([])
        var before: @Sendable (String) -> Void = { _ in }
        if configuration.config.settings.manageMIG, let preparer = dependencies.cardPreparer {
            let (wanted, remembered) = (configuration.wanted.types, remembered?.cards ?? [:])
            before = { gpu in
                let preparation = preparer.prepareBeforeParents(card: gpu, wanted: wanted, remembered: remembered[gpu])
                preparations.withLock { $0.append(preparation) }
            }
        }
        let results = await BlockingCall.run { [before] in enable(names, before) }
        for preparation in preparations.withLock({ $0 }) {
            journal(preparation.done)
            logWarnings(preparation.problems.sorted { $0.key < $1.key }.map(\.value), full: false)
        }
        for result in results where enablement[result.gpu] != result {
            enablement[result.gpu] = result
            let fields = [JournalField.card: result.gpu]
            switch result.result {
            case .enabled: logger.event(.virtualFunctionsEnabled, "\(result)", fields)
            // Like a write past its deadline: the GPU is left alone until the tool returns.
            case .timedOut: logger.event(.stuck, "\(result)", fields)
            default: logger.event(.virtualFunctionsNotEnabled, "\(result)", fields)
            }
        }
    }

    /// Logs the readings' warnings not logged before. After a full reading, a warning it no longer gives is
    /// forgotten, so it is logged again should it come back.
    private func logWarnings(_ warnings: [String], full: Bool) {
        if full { loggedWarnings.formIntersection(warnings) }
        for warning in warnings where loggedWarnings.insert(warning).inserted { logger.warning("\(warning)") }
    }

    private func noteParents(before: Set<String>) {
        let now = Set(inventory.parents.map(\.name))
        for name in now.subtracting(before).sorted() {
            let parent = inventory.parent(named: name)
            logger.event(.parentAppeared, "parent \(name) appeared (\(parent?.modelName ?? "unknown model"), \(parent?.types.count ?? 0) types)",
                         [JournalField.parent: name])
        }
        for name in before.subtracting(now).sorted() {
            logger.event(.parentGone, "parent \(name) is gone", [JournalField.parent: name])
            lastFailures[name] = nil
            loggedBlockers[name] = nil
        }
        dependencies.knownParents.set(now)
    }

    /// Journals what was done to make GPUs ready for their type (MIG mode, GPU instances).
    private func journal(_ steps: [CardPreparation.Step]) {
        for step in steps { logger.event(.gpuPrepared, "\(step)", [JournalField.card: step.card]) }
    }

    /// Journals what happened on a parent; its plan says how its devices are named and which card it is of
    /// (a parent that appeared in this pass is not in the inventory yet).
    private func record(_ result: ParentExecutor.Outcome, of plan: ParentPlan) {
        let interface = plan.interface
        let fields = { (extra: [String: String]) in Self.fields(plan.parent, card: plan.card, extra) }
        /// A vGPU in vendor-specific mode has no UUID: its handle stays out of the journal.
        func deviceFields(_ device: PlannedDevice) -> [String: String] {
            interface == .mdev ? [JournalField.uuid: device.uuid.sysfsString, JournalField.type: device.type] : [JournalField.type: device.type]
        }
        for device in result.removed {
            logger.event(.removed, "\(interface.change(device, created: false, on: result.parent))", fields(deviceFields(device)))
        }
        for device in result.created {
            logger.event(.created, "\(interface.change(device, created: true, on: result.parent))", fields(deviceFields(device)))
        }
        // A parent that keeps failing the same way is logged once, not at every retry.
        for failure in result.failures where failure.description != lastFailures[result.parent]?.description {
            var extra = failure.device.map(deviceFields) ?? [:]
            extra[JournalField.errno] = failure.cause.errno?.symbolicName
            extra[JournalField.retry] = failure.cause.retryClass.rawValue
            logger.event(.failed, "\(failure)", fields(extra))
        }
        lastFailures[result.parent] = result.failures.last
    }

    private func logBlockers(_ plan: Plan) {
        for parent in plan.parents {
            let messages = Set(parent.blockers.map(\.message))
            for blocker in parent.blockers where !(loggedBlockers[parent.parent]?.contains(blocker.message) ?? false) {
                var extra = [JournalField.type: blocker.device.type]
                if blocker.interface == .mdev { extra[JournalField.uuid] = blocker.device.uuid.sysfsString }
                if let holder = blocker.holders.first { extra[JournalField.holder] = holder.description }
                logger.event(blocker.kind == .inUse ? .keptInUse : .blocked, "\(parent.parent): \(blocker.message)", fields(parent.parent, extra))
            }
            loggedBlockers[parent.parent] = messages.isEmpty ? nil : messages
        }
    }

    /// Journal fields naming a parent and, for a virtual function, its physical GPU (`MDEV_CARD`).
    private func fields(_ parent: String, _ extra: [String: String] = [:]) -> [String: String] {
        Self.fields(parent, card: inventory.parent(named: parent)?.card, extra)
    }

    private static func fields(_ parent: String, card: String?, _ extra: [String: String]) -> [String: String] {
        var fields = extra
        fields[JournalField.parent] = parent
        if let card, card != parent { fields[JournalField.card] = card }
        return fields
    }

    private func makeStatus(plan: Plan) -> DaemonStatus {
        DaemonStatus(
            pid: getpid(), updated: Date(), node: dependencies.nodeName, configFile: dependencies.configFile,
            configGeneration: configGeneration, configDigest: configuration.digest, refusedDigest: refusedDigest,
            configError: configError, wanted: configuration.wanted, hostError: hostError,
            passes: passes, held: configHeld ?? plan.held?.message, unserved: plan.unserved.map(\.message),
            rebalance: plan.rebalanceMoves.map(\.message), rebalancing: rebalancing, unprepared: unprepared,
            parents: plan.parents.map { parent in
                DaemonStatus.ParentStatus(
                    parent: parent.parent, card: parent.card == parent.parent ? nil : parent.card, model: parent.model, type: parent.type, devices: parent.keep + parent.remove,
                    blocked: parent.blockers.map(\.message), lastError: lastFailures[parent.parent]?.description,
                    errno: lastFailures[parent.parent]?.cause.errno?.symbolicName, stuck: stuck.contains(parent.parent),
                    toCreate: parent.create.count, toRemove: parent.remove.count)
            })
    }
}

/// Short descriptions of plans for log lines.
enum PlanDescription {
    static func wanted(_ wanted: WantedTypes) -> String {
        switch wanted.source {
        case .disabled: return "management disabled"
        default: return "wants " + (wanted.types.isEmpty ? "nothing" : wanted.types.joined(separator: ", ")) + " (\(wanted.source))"
        }
    }
}
