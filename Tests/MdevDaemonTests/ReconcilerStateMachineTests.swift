import MdevSysfs
import Testing

@testable import MdevDaemon

/// A point in time for the pure state machine: a duration since an arbitrary origin.
struct At: InstantProtocol, Sendable, CustomStringConvertible {
    var offset: Duration
    func advanced(by duration: Duration) -> At { At(offset: offset + duration) }
    func duration(to other: At) -> Duration { other.offset - offset }
    static func < (a: At, b: At) -> Bool { a.offset < b.offset }
    var description: String { "t+\(offset)" }
}

func ms(_ value: Int) -> At { At(offset: .milliseconds(value)) }

@Suite("Reconciler state machine: every transition")
struct ReconcilerStateMachineTests {
    typealias Machine = ReconcilerStateMachine<At>
    var timing: ReconcilerTiming {
        var timing = ReconcilerTiming()
        timing.quietPeriod = .milliseconds(100)
        timing.maximumDelay = .milliseconds(1000)
        timing.failureBackoff = Backoff(initial: .seconds(1), maximum: .seconds(8))
        timing.inUseBackoff = Backoff(initial: .seconds(1), maximum: .seconds(4))
        return timing
    }

    let status = ReconcilerEffect<At>.notify(.status(""))
    let ready = ReconcilerEffect<At>.notify(.ready(status: ""))

    /// A machine that has finished its first pass with `outcome`, at t=0.
    func started(outcome: PassOutcome = PassOutcome()) -> Machine {
        var machine = Machine(timing: timing)
        _ = machine.handle(.start, now: ms(0))
        _ = machine.handle(.passFinished(outcome), now: ms(0))
        return machine
    }

    @Test("starting → reconciling with a full rescan; the first pass ends idle, with no timer")
    func start() {
        var machine = Machine(timing: timing)
        #expect(machine.phase == .starting)
        #expect(machine.handle(.start, now: ms(0)) == [.startPass(PassRequest(fullRescan: true, triggers: [.start]))])
        #expect(machine.phase == .reconciling)
        #expect(machine.handle(.passFinished(PassOutcome(summary: "s")), now: ms(5)) == [.notify(.ready(status: "s")), .announce(.started)])
        #expect(machine.phase == .idle)
        #expect(machine.isReady)
        // A second start is ignored.
        #expect(machine.handle(.start, now: ms(6)) == [])
    }

    @Test("Events before the first pass ends wait for it, then are debounced")
    func eventsWhileStarting() {
        var machine = Machine(timing: timing)
        #expect(machine.handle(.parentsTouched(["a"]), now: ms(0)) == [])
        #expect(machine.phase == .starting)
        _ = machine.handle(.start, now: ms(1))
        // The first pass is a full rescan; "a" was pending before it started, so it is covered.
        #expect(machine.handle(.passFinished(PassOutcome()), now: ms(10)) == [ready, .announce(.started)])
        #expect(machine.phase == .idle)
    }

    @Test("idle → debouncing on an event; a burst extends the window; the deadline starts one pass for all")
    func debounce() {
        var machine = started()
        #expect(machine.handle(.parentsTouched(["a"]), now: ms(1000)) == [.setTimer(ms(1100))])
        #expect(machine.phase == .debouncing(since: ms(1000), deadline: ms(1100)))
        #expect(machine.handle(.parentsTouched(["b"]), now: ms(1050)) == [.setTimer(ms(1150))])
        #expect(machine.handle(.parentsTouched(["a"]), now: ms(1120)) == [.setTimer(ms(1220))])
        // A timer that fires early (before the pushed deadline) does nothing.
        #expect(machine.handle(.timerFired, now: ms(1150)) == [])
        #expect(machine.handle(.timerFired, now: ms(1220)) == [.startPass(PassRequest(parents: ["a", "b"], triggers: [.event])), .setTimer(nil)])
        #expect(machine.phase == .reconciling)
    }

    @Test("A never-ending storm still gets a pass at the first event plus the maximum delay")
    func maximumDelay() {
        var machine = started()
        var effects: [ReconcilerEffect<At>] = []
        for time in stride(from: 1000, through: 2100, by: 50) {
            effects = machine.handle(.parentsTouched(["p\(time)"]), now: ms(time))
            if time >= 1950 {
                // Past 1900 the quiet window would end after 2000, so the deadline is capped there.
                #expect(machine.phase == .debouncing(since: ms(1000), deadline: ms(2000)), "at \(time)")
            }
        }
        #expect(effects == [])
        let fired = machine.handle(.timerFired, now: ms(2000))
        #expect(fired.first.map { if case .startPass = $0 { true } else { false } } == true)
    }

    @Test("Events during a pass wait; after it, they are debounced from the time the pass ended")
    func eventsDuringPass() {
        var machine = started()
        _ = machine.handle(.parentsTouched(["a"]), now: ms(1000))
        _ = machine.handle(.timerFired, now: ms(1100))
        #expect(machine.handle(.parentsTouched(["b"]), now: ms(1150)) == [])
        #expect(machine.phase == .reconciling)
        #expect(machine.handle(.passFinished(PassOutcome()), now: ms(1200)) == [.setTimer(ms(1300)), status])
        #expect(machine.phase == .debouncing(since: ms(1150), deadline: ms(1300)))
        #expect(machine.handle(.timerFired, now: ms(1300)) == [.startPass(PassRequest(parents: ["b"], triggers: [.event])), .setTimer(nil)])
    }

    @Test("A config change rereads config and rescans after the debounce window")
    func configChanged() {
        var machine = started()
        #expect(machine.handle(.configChanged, now: ms(500)) == [.setTimer(ms(600))])
        #expect(machine.handle(.timerFired, now: ms(600)) == [.startPass(PassRequest(fullRescan: true, reloadConfig: true, triggers: [.configChange])), .setTimer(nil)])
    }

    @Test("SIGHUP reloads now: RELOADING, then a full pass without waiting for the window")
    func reload() {
        var machine = started()
        #expect(machine.handle(.reloadRequested, now: ms(500)) == [
            .notify(.reloading), .announce(.reloadRequested), .startPass(PassRequest(fullRescan: true, reloadConfig: true, triggers: [.reload])),
        ])
        #expect(machine.reloadInProgress)
        // During a pass, SIGHUP waits for it and then runs at once; READY=1 follows the pass that carries it out.
        #expect(machine.handle(.reloadRequested, now: ms(510)) == [.notify(.reloading), .announce(.reloadRequested)])
        #expect(machine.handle(.passFinished(PassOutcome()), now: ms(520)) == [.startPass(PassRequest(fullRescan: true, reloadConfig: true, triggers: [.reload])), status])
        #expect(machine.phase == .reconciling)
        #expect(machine.handle(.passFinished(PassOutcome(summary: "r")), now: ms(530)) == [.notify(.ready(status: "r"))])
        #expect(!machine.reloadInProgress)
    }

    @Test("Lost events (ENOBUFS) schedule a full rescan")
    func eventsLost() {
        var machine = started()
        _ = machine.handle(.eventsLost, now: ms(0))
        #expect(machine.handle(.timerFired, now: ms(100)) == [.startPass(PassRequest(fullRescan: true, triggers: [.event])), .setTimer(nil)])
    }

    @Test("Failed parents back off exponentially (1 s, 2 s, 4 s, capped at 8 s) and reset once they succeed")
    func failureBackoff() {
        var machine = started(outcome: PassOutcome(failed: ["a": .persistent]))
        #expect(machine.phase == .backingOff(until: ms(1000)))
        var now = 1000
        for delay in [2000, 4000, 8000, 8000] {
            #expect(machine.handle(.timerFired, now: ms(now)) == [.startPass(PassRequest(parents: ["a"], triggers: [.backoff])), .setTimer(nil)])
            #expect(machine.handle(.passFinished(PassOutcome(failed: ["a": .persistent])), now: ms(now)) == [.setTimer(ms(now + delay)), status])
            #expect(machine.phase == .backingOff(until: ms(now + delay)))
            now += delay
        }
        _ = machine.handle(.timerFired, now: ms(now))
        // The timer was cancelled when the pass started; nothing is left to schedule.
        #expect(machine.handle(.passFinished(PassOutcome()), now: ms(now)) == [status])
        #expect(machine.phase == .idle)
        #expect(machine.failedAttempts.isEmpty)
    }

    @Test("Each retry class has its own delays (the README's retry policy, default timing)", arguments: [
        (RetryClass.noCapacity, [60_000, 120_000, 240_000, 300_000, 300_000]),
        (.parentGoing, [60_000, 120_000, 240_000, 300_000]),
        (.transient, [500, 1000, 2000, 4000, 4000, 1000, 2000, 4000]),
        (.changedMeanwhile, [500, 1000, 2000, 4000, 4000, 1000]),
        (.inUse, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]),
        (.persistent, [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]),
    ])
    func retryPolicy(retryClass: RetryClass, delays: [Int]) {
        var machine = Machine(timing: ReconcilerTiming())
        _ = machine.handle(.start, now: ms(0))
        var now = 0
        for (attempt, delay) in delays.enumerated() {
            #expect(machine.handle(.passFinished(PassOutcome(failed: ["a": retryClass])), now: ms(now)).first == .setTimer(ms(now + delay)),
                    "attempt \(attempt)")
            now += delay
            #expect(machine.handle(.timerFired, now: ms(now)) == [.startPass(PassRequest(parents: ["a"], triggers: [.backoff])), .setTimer(nil)])
        }
    }

    @Test("A pass that could not read the host is retried as a full rescan, with backoff, until one succeeds")
    func readFailed() {
        var machine = Machine(timing: timing)
        _ = machine.handle(.start, now: ms(0))
        #expect(machine.handle(.passFinished(PassOutcome(readFailed: true)), now: ms(0)) == [.setTimer(ms(1000)), ready, .announce(.started)])
        #expect(machine.phase == .backingOff(until: ms(1000)))
        #expect(machine.handle(.timerFired, now: ms(1000)) == [.startPass(PassRequest(fullRescan: true, triggers: [.backoff])), .setTimer(nil)])
        #expect(machine.handle(.passFinished(PassOutcome(readFailed: true)), now: ms(1000)) == [.setTimer(ms(3000)), status])
        _ = machine.handle(.timerFired, now: ms(3000))
        #expect(machine.handle(.passFinished(PassOutcome()), now: ms(3000)) == [status])
        #expect(machine.phase == .idle)
    }

    @Test("A host that stays unreadable is read again at 1 s doubling, never more than 5 minutes apart (default timing)")
    func readFailureCap() {
        var machine = Machine(timing: ReconcilerTiming())
        _ = machine.handle(.start, now: ms(0))
        var now = 0
        var delays: [Int] = []
        for _ in 0..<12 {
            guard case .setTimer(let at?)? = machine.handle(.passFinished(PassOutcome(readFailed: true)), now: ms(now)).first else {
                Issue.record("no retry scheduled")
                return
            }
            let delay = Int((at.offset - Duration.milliseconds(now)) / .milliseconds(1))
            delays.append(delay)
            now += delay
            #expect(machine.handle(.timerFired, now: ms(now)).first == .startPass(PassRequest(fullRescan: true, triggers: [.backoff])))
        }
        #expect(delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map { $0 * 1000 })
    }

    @Test("A timer firing before any retry is due changes nothing")
    func earlyTimer() {
        var machine = started(outcome: PassOutcome(failed: ["a": .persistent]))
        #expect(machine.handle(.timerFired, now: ms(500)) == [])
        #expect(machine.phase == .backingOff(until: ms(1000)))
    }

    @Test("In-use parents are re-checked at 1 s doubling to 30 s (here 4 s) until they clear")
    func inUseRecheck() {
        var machine = started(outcome: PassOutcome(blockedInUse: ["a", "b"]))
        #expect(machine.phase == .backingOff(until: ms(1000)))
        var now = 1000
        var blocked: Set<String> = ["a", "b"]
        for delay in [2000, 4000, 4000] {
            #expect(machine.handle(.timerFired, now: ms(now)) == [.startPass(PassRequest(parents: blocked, triggers: [.backoff])), .setTimer(nil)])
            blocked = ["a"]
            _ = machine.handle(.passFinished(PassOutcome(blockedInUse: ["a"])), now: ms(now))
            #expect(machine.phase == .backingOff(until: ms(now + delay)))
            now += delay
        }
        _ = machine.handle(.timerFired, now: ms(now))
        _ = machine.handle(.passFinished(PassOutcome()), now: ms(now))
        #expect(machine.phase == .idle)
    }

    @Test("Debouncing also wakes for a retry due before the window ends, and the pass takes both")
    func retryDuringDebounce() {
        var machine = started(outcome: PassOutcome(failed: ["a": .persistent]))
        // The timer stays at the retry, which comes before the window ends.
        #expect(machine.handle(.parentsTouched(["b"]), now: ms(950)) == [])
        #expect(machine.phase == .debouncing(since: ms(950), deadline: ms(1050)))
        #expect(machine.handle(.timerFired, now: ms(1000)) == [.setTimer(ms(1050))])
        #expect(machine.handle(.timerFired, now: ms(1050)) == [.startPass(PassRequest(parents: ["a", "b"], triggers: [.event, .backoff])), .setTimer(nil)])
    }

    @Test("A stuck parent is skipped by later passes until its write returns, which touches it")
    func stuckParent() {
        var machine = started(outcome: PassOutcome(stuck: ["a"]))
        #expect(machine.stuck == ["a"])
        _ = machine.handle(.eventsLost, now: ms(10))
        #expect(machine.handle(.timerFired, now: ms(110)) == [.startPass(PassRequest(fullRescan: true, skipping: ["a"], triggers: [.event])), .setTimer(nil)])
        _ = machine.handle(.passFinished(PassOutcome()), now: ms(120))
        #expect(machine.handle(.writeReturned(parent: "a"), now: ms(200)) == [.announce(.writeReturned(parent: "a")), .setTimer(ms(300))])
        #expect(machine.stuck.isEmpty)
        #expect(machine.handle(.timerFired, now: ms(300)) == [.startPass(PassRequest(parents: ["a"], triggers: [.event])), .setTimer(nil)])
    }

    @Test("Stop: at once when not reconciling; after the pass when reconciling; nothing after stopped", arguments: ["idle", "debouncing", "backingOff", "starting"])
    func stopWhenNotReconciling(phase: String) {
        var machine: Machine
        switch phase {
        case "idle": machine = started()
        case "debouncing": machine = started(); _ = machine.handle(.parentsTouched(["a"]), now: ms(1))
        case "backingOff": machine = started(outcome: PassOutcome(failed: ["a": .persistent]))
        default: machine = Machine(timing: timing)
        }
        let effects = machine.handle(.stopRequested, now: ms(2))
        // A timer that was set is cancelled after.
        #expect(Array(effects.prefix(2)) == [.notify(.stopping), .exit])
        #expect(effects.dropFirst(2).allSatisfy { $0 == .setTimer(nil) })
        #expect(machine.phase == .stopped)
        #expect(machine.handle(.parentsTouched(["b"]), now: ms(3)) == [])
        #expect(machine.handle(.timerFired, now: ms(4)) == [])
    }

    @Test("Stop during a pass waits for it to end, then exits")
    func stopDuringPass() {
        var machine = Machine(timing: timing)
        _ = machine.handle(.start, now: ms(0))
        #expect(machine.handle(.stopRequested, now: ms(1)) == [
            .notify(.stopping), .stopStartingWrites, .announce(.waitingForPassInFlight), .setGraceTimer(ms(3001)),
        ])
        #expect(machine.phase == .stopping)
        // Asked again: already stopping, the grace period is not pushed back.
        #expect(machine.handle(.stopRequested, now: ms(2)) == [])
        #expect(machine.handle(.parentsTouched(["a"]), now: ms(2)) == [])
        #expect(machine.handle(.passFinished(PassOutcome(failed: ["a": .persistent])), now: ms(3)) == [.exit])
        #expect(machine.phase == .stopped)
    }

    @Test("Stop during a pass that never ends: the grace period expiring exits; it means nothing otherwise")
    func stopGraceExpired() {
        var machine = Machine(timing: timing)
        #expect(machine.handle(.stopGraceExpired, now: ms(0)) == [])
        _ = machine.handle(.start, now: ms(0))
        #expect(machine.handle(.stopGraceExpired, now: ms(1)) == [])
        #expect(machine.phase == .reconciling)
        _ = machine.handle(.stopRequested, now: ms(2))
        #expect(machine.handle(.stopGraceExpired, now: ms(3)) == [.announce(.passAbandoned), .exit])
        #expect(machine.phase == .stopped)
        #expect(machine.handle(.passFinished(PassOutcome()), now: ms(4)) == [])
    }

    @Test("READY=1 after the first pass, STATUS= after the others with the summary of the pass that finished; a config change is no reload")
    func notifications() {
        var machine = started()
        _ = machine.handle(.configChanged, now: ms(10))
        _ = machine.handle(.timerFired, now: ms(110))
        #expect(machine.handle(.passFinished(PassOutcome(summary: "after edit")), now: ms(120)) == [.notify(.status("after edit"))])
        _ = machine.handle(.reloadRequested, now: ms(200))
        #expect(machine.handle(.passFinished(PassOutcome(summary: "reloaded")), now: ms(210)) == [.notify(.ready(status: "reloaded"))])
    }

    @Test("Backoff doubles from its initial delay and stops at its maximum")
    func backoff() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
        #expect((0..<7).map { backoff.delay(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30].map { Duration.seconds($0) })
        #expect(backoff.delay(attempt: 1000) == .seconds(30))
    }

    @Test("A pass counts under one trigger: a config change debounced with events is a config change; a retry with an event, an event")
    func passTrigger() {
        var machine = started()
        _ = machine.handle(.parentsTouched(["a"]), now: ms(500))
        _ = machine.handle(.configChanged, now: ms(520))
        let effects = machine.handle(.timerFired, now: ms(620))
        guard case .startPass(let request) = effects.first else {
            Issue.record("no pass started: \(effects)")
            return
        }
        #expect(request.triggers == [.event, .configChange])
        #expect(request.trigger == .configChange)
        #expect(PassRequest(triggers: [.backoff, .event]).trigger == .event)
        #expect(PassRequest(triggers: [.reload, .configChange]).trigger == .reload)
        #expect(PassRequest(triggers: [.backoff]).trigger == .backoff)
    }
}
