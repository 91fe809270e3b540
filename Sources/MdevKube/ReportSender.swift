import Dispatch
import FoundationEssentials
import Logging
import MdevModel
import MdevSysfs

/// Sends the latest ``NodeReport`` on a thread of its own: only a report that differs from the last one
/// sent goes out, a failed one is tried again after a ``Backoff`` (a newer report replacing it), and a change
/// of state or reason is also recorded as an Event.
final class ReportSender: Sendable {
    private let reporter: NodeReporter
    private let stop: StopSignal
    private let logger: Logger
    private let wake = DispatchSemaphore(value: 0)
    private let pending = LockedValue<(report: NodeReport, nodeUID: String?)?>(nil)

    private let whenSettled: @Sendable () -> Void

    init(reporter: NodeReporter, stop: StopSignal, logger: Logger, whenSettled: @escaping @Sendable () -> Void) {
        self.reporter = reporter
        self.stop = stop
        self.logger = logger
        self.whenSettled = whenSettled
    }

    /// The report as of now; sent unless it is the one sent last.
    func offer(_ report: NodeReport, nodeUID: String?) {
        pending.withLock { $0 = (report, nodeUID) }
        wake.signal()
    }

    func run() {
        var sent: NodeReport?
        var transition = Date()
        var throttle = EventThrottle()
        var backoff = Backoff()
        while !stop.wait(on: wake) {
            guard let (report, nodeUID) = pending.withLock({ $0 }), report != sent else { continue }
            if sent?.ready != report.ready { transition = Date() }
            do {
                try reporter.apply(report, transition: transition)
            } catch {
                logger.warning("cannot report the node's state \(report.state.rawValue): \(error)")
                if stop.wait(backoff.next(now: .now)) { return }
                wake.signal()
                continue
            }
            let changed = sent?.state != report.state || sent?.reason != report.reason
            if changed {
                logger.info("node state \(report.state.rawValue): \(report.reason): \(report.message)")
                recordEvent(report, nodeUID: nodeUID, throttle: &throttle)
            }
            sent = report
            if pending.withLock({ $0?.report }) == report { whenSettled() }
        }
    }

    private func recordEvent(_ report: NodeReport, nodeUID: String?, throttle: inout EventThrottle) {
        let note = "\(report.state.rawValue): \(report.message)"
        let warning = report.state == .failed || report.state == .blocked
        do {
            switch throttle.decide(reason: report.reason, note: note, now: .now) {
            case .create:
                let name = try reporter.record(reason: report.reason, note: note, warning: warning, nodeUID: nodeUID)
                throttle.created(name: name, reason: report.reason, note: note, now: .now)
                logger.debug("recorded the event \(report.reason) (\(name))")
            case .series(let name, let count):
                try reporter.countAgain(name, count: count)
                logger.debug("counted the event \(report.reason) (\(name)) again: \(count) times")
            case .drop:
                logger.debug("event \(report.reason) dropped: too many events lately")
            }
        } catch {
            logger.warning("cannot record the event \(report.reason): \(error)")
        }
    }
}
