import MdevSysfs

/// What a pass is asked to do.
public struct PassRequest: Sendable, Hashable {
    /// Re-read every parent (at start, on reload, after lost events); otherwise only ``parents``.
    public var fullRescan = false
    /// Re-read the config and labels files first.
    public var reloadConfig = false
    /// Parents to re-read: those events touched, retries and re-checks that came due.
    public var parents: Set<String> = []
    /// Parents with a write past its deadline: read, but never written to until the write returns.
    public var skipping: Set<String> = []
    /// What asked for the pass: every input merged into it (a debounced burst can hold several).
    public var triggers: Set<PassTrigger> = []

    public init(
        fullRescan: Bool = false, reloadConfig: Bool = false, parents: Set<String> = [], skipping: Set<String> = [],
        triggers: Set<PassTrigger> = []
    ) {
        self.fullRescan = fullRescan
        self.reloadConfig = reloadConfig
        self.parents = parents
        self.skipping = skipping
        self.triggers = triggers
    }

    /// The one trigger the pass is counted under (``PassTrigger/precedence``): the first of its triggers in that order.
    public var trigger: PassTrigger {
        PassTrigger.precedence.first { triggers.contains($0) } ?? .event
    }

    var isEmpty: Bool { !fullRescan && !reloadConfig && parents.isEmpty }
}

/// What a pass found and did, as far as scheduling cares.
public struct PassOutcome: Sendable, Hashable {
    /// Parents whose changes failed, with how each is retried (``ReconcilerTiming/retryDelay(_:attempt:)``).
    public var failed: [String: RetryClass] = [:]
    /// Parents blocked by devices in use, host-wide: re-checked with ``ReconcilerTiming/inUseBackoff``.
    public var blockedInUse: Set<String> = []
    /// Parents with a write past its deadline.
    public var stuck: Set<String> = []
    /// Sysfs (or /proc) could not be read at all: a full rescan is retried with the failure backoff.
    public var readFailed = false
    /// The one-line status at the end of the pass, for `STATUS=`.
    public var summary = ""

    public init(
        failed: [String: RetryClass] = [:], blockedInUse: Set<String> = [], stuck: Set<String> = [], readFailed: Bool = false,
        summary: String = ""
    ) {
        self.failed = failed
        self.blockedInUse = blockedInUse
        self.stuck = stuck
        self.readFailed = readFailed
        self.summary = summary
    }
}

/// The reconciler's states.
public enum ReconcilerPhase<Instant: Hashable & Sendable>: Sendable, Hashable {
    /// Before the first pass.
    case starting
    /// Nothing to do and nothing scheduled: no timer, no wakeups.
    case idle
    /// Events arrived; a pass starts at `deadline` unless more events push it (never past the first
    /// event plus the maximum delay).
    case debouncing(since: Instant, deadline: Instant)
    /// A pass is running; new events wait for it.
    case reconciling
    /// Nothing to do now, but retries or in-use re-checks are due at `until`.
    case backingOff(until: Instant)
    /// Stop was asked during a pass; waiting for it to end.
    case stopping
    case stopped
}

/// What happens to the reconciler.
public enum ReconcilerInput: Sendable, Hashable {
    case start
    /// Device events touched these parents.
    case parentsTouched(Set<String>)
    /// The config or labels file may have changed.
    case configChanged
    /// SIGHUP (`systemctl reload`): re-read config and labels now, and rescan.
    case reloadRequested
    /// The event stream lost messages (netlink ENOBUFS): rescan everything.
    case eventsLost
    case timerFired
    case passFinished(PassOutcome)
    /// A write that was past its deadline has returned at last.
    case writeReturned(parent: String)
    case stopRequested
    /// The in-flight pass did not end within the stop grace period: abandon it.
    case stopGraceExpired
}

/// What the driver must do.
public enum ReconcilerEffect<Instant: Hashable & Sendable>: Sendable, Hashable {
    case startPass(PassRequest)
    /// Wake the machine with ``ReconcilerInput/timerFired`` at this instant; nil cancels the timer.
    case setTimer(Instant?)
    /// Wake the machine with ``ReconcilerInput/stopGraceExpired`` at this instant.
    case setGraceTimer(Instant)
    /// Tell systemd.
    case notify(ServiceNotification)
    /// Let writes in flight finish, but start no more: the daemon is stopping.
    case stopStartingWrites
    /// Log a line about the daemon's own course.
    case announce(Announcement)
    /// The machine has stopped: log it and exit.
    case exit
}

/// What systemd hears (sd_notify).
public enum ServiceNotification: Sendable, Hashable {
    /// `READY=1` with `STATUS=`: after the first pass, and after the pass that carried out a reload.
    case ready(status: String)
    /// `STATUS=` after any other pass.
    case status(String)
    /// `RELOADING=1`: a reload began.
    case reloading
    /// `STOPPING=1`.
    case stopping
}

/// Lines the daemon logs about its own course.
public enum Announcement: Sendable, Hashable {
    /// The first pass is done: the daemon watches for changes.
    case started
    /// SIGHUP: config and labels are read again now.
    case reloadRequested
    /// Stop was asked during a pass: waiting for it.
    case waitingForPassInFlight
    /// The pass in flight did not end within the stop grace period.
    case passAbandoned
    /// Writes that missed their deadline returned at last.
    case writeReturned(parent: String)
}

/// The reconciler's scheduling, as a pure state machine: no clock, no I/O, no tasks. The driver feeds it
/// inputs with the current time and carries out the effects it returns, so every transition is tested
/// directly.
public struct ReconcilerStateMachine<Instant: InstantProtocol & Sendable> where Instant.Duration == Duration {
    public private(set) var phase: ReconcilerPhase<Instant> = .starting
    public let timing: ReconcilerTiming

    /// Work that waits for the next pass, and since when.
    private(set) var pending = PassRequest()
    private var pendingSince: Instant?
    /// SIGHUP asks for a pass now, not after the debounce window.
    private var pendingImmediately = false
    /// The request of the running pass.
    private var running: PassRequest?
    /// Failed attempts so far, and when each failed parent is retried.
    private(set) var failedAttempts: [String: Int] = [:]
    private(set) var retryDue: [String: Instant] = [:]
    /// Parents blocked by devices in use, when they are re-checked, and how often they were.
    private(set) var inUseParents: Set<String> = []
    private var inUseAttempt = 0
    private(set) var inUseDue: Instant?
    public private(set) var stuck: Set<String> = []
    /// A full rescan retried after a pass that could not read the host.
    private var rescanAttempt = 0
    private(set) var rescanDue: Instant?
    /// The timer as last set.
    private var timer: Instant?
    /// Whether systemd was told READY=1 (after the first pass).
    public private(set) var isReady = false
    /// SIGHUP was received; READY=1 follows the pass that carries out the reload.
    public private(set) var reloadInProgress = false

    public init(timing: ReconcilerTiming = ReconcilerTiming()) {
        self.timing = timing
    }

    /// Feeds one input at `now`; returns the effects to carry out, in order.
    public mutating func handle(_ input: ReconcilerInput, now: Instant) -> [ReconcilerEffect<Instant>] {
        if phase == .stopped { return [] }
        var effects: [ReconcilerEffect<Instant>] = []
        // Said after the timer is set, so the next timer is in place when systemd (or a test) hears of a pass.
        var notifications: [ReconcilerEffect<Instant>] = []
        switch input {
        case .start:
            guard phase == .starting else { break }
            pending.fullRescan = true
            pending.triggers.insert(.start)
            effects += startPass()
        case .parentsTouched(let parents):
            pending.parents.formUnion(parents)
            pending.triggers.insert(.event)
            effects += noteWork(now: now)
        case .configChanged:
            pending.reloadConfig = true
            pending.fullRescan = true
            pending.triggers.insert(.configChange)
            effects += noteWork(now: now)
        case .reloadRequested:
            pending.reloadConfig = true
            pending.fullRescan = true
            pending.triggers.insert(.reload)
            pendingImmediately = true
            reloadInProgress = true
            effects += [.notify(.reloading), .announce(.reloadRequested)]
            effects += noteWork(now: now)
        case .eventsLost:
            pending.fullRescan = true
            pending.triggers.insert(.event)
            effects += noteWork(now: now)
        case .timerFired:
            effects += timerFired(now: now)
        case .passFinished(let outcome):
            effects += passFinished(outcome, now: now, notifications: &notifications)
        case .writeReturned(let parent):
            stuck.remove(parent)
            pending.parents.insert(parent)
            pending.triggers.insert(.event)
            effects.append(.announce(.writeReturned(parent: parent)))
            effects += noteWork(now: now)
        case .stopRequested:
            switch phase {
            case .stopping:
                break
            case .reconciling:
                phase = .stopping
                // The grace period counts from now, not from when a timer task first runs.
                effects += [
                    .notify(.stopping), .stopStartingWrites, .announce(.waitingForPassInFlight),
                    .setGraceTimer(now.advanced(by: timing.stopGracePeriod)),
                ]
            default:
                phase = .stopped
                effects += [.notify(.stopping), .exit]
            }
        case .stopGraceExpired:
            if phase == .stopping {
                phase = .stopped
                effects += [.announce(.passAbandoned), .exit]
            }
        }
        return effects + updateTimer() + notifications
    }

    /// New work arrived: start or extend the debounce window, or run now for SIGHUP.
    private mutating func noteWork(now: Instant) -> [ReconcilerEffect<Instant>] {
        switch phase {
        case .starting, .reconciling, .stopping, .stopped:
            if pendingSince == nil { pendingSince = now }
            return []
        case .idle, .backingOff:
            // Work that arrived during the pass counts from its own arrival, for the maximum delay.
            if pendingSince == nil { pendingSince = now }
        case .debouncing:
            break
        }
        if pendingImmediately { return startPass() }
        let since = pendingSince ?? now
        phase = .debouncing(since: since, deadline: min(now.advanced(by: timing.quietPeriod), since.advanced(by: timing.maximumDelay)))
        return []
    }

    private mutating func timerFired(now: Instant) -> [ReconcilerEffect<Instant>] {
        var due: Set<String> = []
        for (parent, time) in retryDue where time <= now { due.insert(parent) }
        for parent in due { retryDue[parent] = nil }
        if let inUseDue, inUseDue <= now {
            due.formUnion(inUseParents)
            self.inUseDue = nil
        }
        pending.parents.formUnion(due)
        if !due.isEmpty { pending.triggers.insert(.backoff) }
        if let rescanDue, rescanDue <= now {
            pending.fullRescan = true
            pending.triggers.insert(.backoff)
            self.rescanDue = nil
        }
        switch phase {
        case .debouncing(_, let deadline) where deadline <= now:
            return startPass()
        case .idle, .backingOff:
            // Retries and re-checks need no debounce: their own backoff already spaced them.
            if !pending.isEmpty { return startPass() }
            phase = restingPhase()
        default:
            break
        }
        return []
    }

    private mutating func passFinished(
        _ outcome: PassOutcome, now: Instant, notifications: inout [ReconcilerEffect<Instant>]
    ) -> [ReconcilerEffect<Instant>] {
        guard let running else { return [] }
        self.running = nil
        if phase == .stopping {
            phase = .stopped
            return [.exit]
        }
        // READY=1 after the first pass and after the pass that carries out a reload; STATUS= otherwise.
        if !isReady {
            isReady = true
            notifications += [.notify(.ready(status: outcome.summary)), .announce(.started)]
        } else if reloadInProgress && running.reloadConfig && !pendingImmediately {
            // A reload that carried out every SIGHUP so far: another one asked during it runs next.
            reloadInProgress = false
            notifications.append(.notify(.ready(status: outcome.summary)))
        } else {
            notifications.append(.notify(.status(outcome.summary)))
        }
        // Parents of this pass that did not fail have converged: forget their failures.
        let scope = running.fullRescan ? Set(failedAttempts.keys) : running.parents
        for parent in scope.subtracting(outcome.failed.keys) {
            failedAttempts[parent] = nil
            retryDue[parent] = nil
        }
        for (parent, retryClass) in outcome.failed {
            let attempt = failedAttempts[parent, default: 0]
            failedAttempts[parent] = attempt + 1
            retryDue[parent] = now.advanced(by: timing.retryDelay(retryClass, attempt: attempt))
        }
        stuck.formUnion(outcome.stuck)
        if outcome.readFailed {
            rescanDue = now.advanced(by: timing.failureBackoff.delay(attempt: rescanAttempt))
            rescanAttempt += 1
        } else if running.fullRescan {
            rescanAttempt = 0
        }
        if outcome.blockedInUse.isEmpty {
            inUseParents = []
            inUseAttempt = 0
            inUseDue = nil
        } else {
            inUseAttempt = inUseParents.isEmpty ? 0 : inUseAttempt + 1
            inUseParents = outcome.blockedInUse
            inUseDue = now.advanced(by: timing.inUseBackoff.delay(attempt: inUseAttempt))
        }
        phase = restingPhase()
        if !pending.isEmpty {
            return noteWork(now: now)
        }
        return []
    }

    private mutating func startPass() -> [ReconcilerEffect<Instant>] {
        var request = pending
        request.skipping = stuck
        pending = PassRequest()
        pendingSince = nil
        pendingImmediately = false
        running = request
        phase = .reconciling
        return [.startPass(request)]
    }

    /// Idle, or backing off until the earliest retry or re-check.
    private func restingPhase() -> ReconcilerPhase<Instant> {
        nextScheduledWork().map { .backingOff(until: $0) } ?? .idle
    }

    private func nextScheduledWork() -> Instant? {
        ([inUseDue, rescanDue].compactMap { $0 } + retryDue.values).min()
    }

    private mutating func updateTimer() -> [ReconcilerEffect<Instant>] {
        let wanted: Instant?
        switch phase {
        case .debouncing(_, let deadline): wanted = [deadline, nextScheduledWork()].compactMap { $0 }.min()
        case .backingOff(let until): wanted = until
        default: wanted = nil
        }
        guard wanted != timer else { return [] }
        timer = wanted
        return [.setTimer(wanted)]
    }
}
