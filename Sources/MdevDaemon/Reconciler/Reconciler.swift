import Logging
import MdevModel

/// The daemon's core: an actor that takes every input from one ordered stream (device events, file
/// changes, signals, its own timer and pass completions), feeds them to the ``ReconcilerStateMachine``,
/// and carries out its effects: passes on the ``HostReconciler``, one timer, and sd_notify messages.
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
    private var runningRequest: PassRequest?
    private var isReady = false
    private var reloadInProgress = false

    /// The phase, for tests and status.
    public var phase: ReconcilerPhase<C.Instant> { machine.phase }

    public init(clock: C, timing: ReconcilerTiming, host: HostReconciler, notifier: any ServiceNotifier, logger: Logger) {
        self.clock = clock
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
        if await handle(input) { continuation.finish() }
    }

    /// Runs until stopped: starts with a full pass, then handles inputs in arrival order.
    public func run() async {
        send(.start)
        let watchdog = startWatchdog()
        defer { watchdog?.cancel() }
        for await input in inputs {
            if await handle(input) { break }
        }
        timer?.cancel()
        graceTimer?.cancel()
        continuation.finish()
    }

    /// Handles one input; returns true when the daemon has stopped.
    private func handle(_ input: ReconcilerInput) async -> Bool {
        // The pass that just ended, taken before the effects may start the next one.
        let finishedRequest = runningRequest
        let effects = machine.handle(input, now: clock.now)
        switch input {
        case .stopRequested where machine.phase == .stopping:
            notifier.stopping()
            host.stopStartingWrites()
            logger.info("stopping: waiting for the pass in flight")
            // Deadlines are fixed here, on the actor, not when the task first runs: a clock that moves
            // before the task starts must not push them back.
            let deadline = clock.now.advanced(by: machine.timing.stopGracePeriod)
            graceTimer = Task { [clock] in
                do { try await clock.sleep(until: deadline, tolerance: nil) } catch { return }
                self.send(.stopGraceExpired)
            }
        case .stopRequested:
            notifier.stopping()
        case .writeReturned(let parent):
            logger.info("writes to \(parent) returned at last", metadata: [JournalField.parent: .string(parent)])
        case .stopGraceExpired where machine.phase == .stopped:
            logger.warning("stopping: the pass in flight did not end in time and was abandoned")
        default:
            break
        }
        var exit = false
        for effect in effects {
            switch effect {
            case .startPass(let request):
                runningRequest = request
                Task { [host] in
                    let outcome = await host.run(request)
                    self.send(.passFinished(outcome))
                }
            case .setTimer(let deadline):
                timer?.cancel()
                timer = deadline.map { deadline in
                    Task { [clock] in
                        do { try await clock.sleep(until: deadline, tolerance: nil) } catch { return }
                        self.send(.timerFired)
                    }
                }
            case .reloading:
                reloadInProgress = true
                notifier.reloading()
            case .exit:
                exit = true
            }
        }
        // Notify after the effects, so the next timer is already set when systemd (or a test) hears of the pass.
        if case .passFinished = input { await passFinished(finishedRequest) }
        if exit { logger.event(.stopped, "stopped; every device stays as it is") }
        return exit
    }

    /// READY=1 after the first pass and after the pass that carries out a reload; STATUS= otherwise.
    private func passFinished(_ request: PassRequest?) async {
        let summary = await host.status.summary
        if !isReady || (reloadInProgress && request?.reloadConfig == true) {
            notifier.ready(status: summary)
        } else {
            notifier.status(summary)
        }
        if !isReady {
            isReady = true
            logger.event(.started, "first pass done; watching for changes")
        }
        if request?.reloadConfig == true { reloadInProgress = false }
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
