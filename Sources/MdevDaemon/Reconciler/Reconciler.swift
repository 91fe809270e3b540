import Logging
import MdevModel

/// The daemon's core: an actor that takes every input from one ordered stream (device events, file
/// changes, signals, its own timer and pass completions), feeds them to the ``ReconcilerStateMachine``,
/// and carries out the effects it returns, and nothing else: passes on the ``HostReconciler``, the timer and
/// the stop grace timer, sd_notify messages and the log lines of its course.
///
/// Generic over the clock, so tests drive time with a test clock and never sleep.
public actor Reconciler<C: Clock> where C.Duration == Duration {
    private var machine: ReconcilerStateMachine<C.Instant>
    private let clock: C
    private let host: HostReconciler
    private let notifier: any ServiceNotifier
    private let logger: Logger
    private let continuation: AsyncStream<ReconcilerInput>.Continuation
    private let inputs: AsyncStream<ReconcilerInput>
    private var timer: Task<Void, Never>?
    private var graceTimer: Task<Void, Never>?
    private let whenSettled: @Sendable () -> Void
    /// Whether a pass ended since `whenSettled` was last called.
    private var passedSinceSettled = false

    /// The phase, for tests and status.
    public var phase: ReconcilerPhase<C.Instant> { machine.phase }

    /// - Parameter whenSettled: called on the actor once after passes, when they leave nothing to do now
    ///   (idle, or waiting for a retry) and their effects are carried out: the daemon gives back memory
    ///   there (``IdleMemory``).
    public init(
        clock: C, timing: ReconcilerTiming, host: HostReconciler, notifier: any ServiceNotifier, logger: Logger,
        whenSettled: @escaping @Sendable () -> Void = {}
    ) {
        self.clock = clock
        self.whenSettled = whenSettled
        self.machine = ReconcilerStateMachine(timing: timing)
        self.host = host
        self.notifier = notifier
        self.logger = logger
        (inputs, continuation) = AsyncStream.makeStream(of: ReconcilerInput.self, bufferingPolicy: .unbounded)
    }

    /// Queues an input. Safe from any thread: event sources call it from their Dispatch queue.
    public nonisolated func send(_ input: ReconcilerInput) {
        continuation.yield(input)
    }

    /// Handles an input now, on the actor, and returns once it is handled: for callers that must know an
    /// input was taken into account before they go on (tests). Event sources use ``send(_:)``.
    public func receive(_ input: ReconcilerInput) async {
        if handle(input) { continuation.finish() }
    }

    /// Runs until stopped: starts with a full pass, then handles inputs in arrival order.
    public func run() async {
        send(.start)
        let watchdog = startWatchdog()
        defer { watchdog?.cancel() }
        for await input in inputs {
            if handle(input) { break }
        }
        timer?.cancel()
        graceTimer?.cancel()
        continuation.finish()
    }

    /// Handles one input: the state machine decides, the actor carries out its effects in order. Returns
    /// true when the daemon has stopped.
    private func handle(_ input: ReconcilerInput) -> Bool {
        for effect in machine.handle(input, now: clock.now) {
            switch effect {
            case .startPass(let request):
                Task { [host] in
                    let outcome = await host.run(request)
                    self.send(.passFinished(outcome))
                }
            case .setTimer(let deadline):
                timer?.cancel()
                timer = deadline.map { wake(at: $0, with: .timerFired) }
            case .setGraceTimer(let deadline):
                graceTimer?.cancel()
                graceTimer = wake(at: deadline, with: .stopGraceExpired)
            case .notify(.ready(let status)):
                notifier.ready(status: status)
            case .notify(.status(let status)):
                notifier.status(status)
            case .notify(.reloading):
                notifier.reloading()
            case .notify(.stopping):
                notifier.stopping()
            case .stopStartingWrites:
                host.stopStartingWrites()
            case .announce(let announcement):
                announce(announcement)
            case .exit:
                logger.event(.stopped, "stopped; every device stays as it is")
                return true
            }
        }
        if case .passFinished = input { passedSinceSettled = true }
        if passedSinceSettled {
            switch machine.phase {
            case .idle, .backingOff:
                passedSinceSettled = false
                whenSettled()
            default: break
            }
        }
        return false
    }

    /// A task that sends `input` once `clock` reaches `deadline` (fixed by the machine, not by when the task runs).
    private func wake(at deadline: C.Instant, with input: ReconcilerInput) -> Task<Void, Never> {
        Task { [clock] in
            do { try await clock.sleep(until: deadline, tolerance: nil) } catch { return }
            self.send(input)
        }
    }

    private func announce(_ announcement: Announcement) {
        switch announcement {
        case .started:
            logger.event(.started, "first pass done; watching for changes")
        case .reloadRequested:
            logger.info("reload requested (SIGHUP): reading the config and labels again")
        case .waitingForPassInFlight:
            logger.info("stopping: waiting for the pass in flight")
        case .passAbandoned:
            logger.warning("stopping: the pass in flight did not end in time and was abandoned")
        case .writeReturned(let parent):
            logger.info("writes to \(parent) returned at last", metadata: [JournalField.parent: .string(parent)])
        }
    }

    /// Pings systemd's watchdog at half its interval, through the actor, so a hung actor is noticed.
    private func startWatchdog() -> Task<Void, Never>? {
        guard let interval = notifier.watchdogInterval else { return nil }
        let first = clock.now.advanced(by: interval / 2)
        return Task { [clock] in
            var next = first
            while !Task.isCancelled {
                do { try await clock.sleep(until: next, tolerance: nil) } catch { return }
                self.pingWatchdog()
                next = next.advanced(by: interval / 2)
            }
        }
    }

    private func pingWatchdog() {
        notifier.watchdog()
    }
}
