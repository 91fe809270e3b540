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
    private let pending = LockedValue<Offer?>(nil)

    /// The latest report and what the Node said when it was made.
    struct Offer: Sendable {
        var report: NodeReport
        var nodeUID: String?
        /// The summary annotation the Node carries (what the cluster last heard of it).
        var annotated: String?
        /// The Node's condition as the cluster has it.
        var condition: NodeReporter.Condition?
    }
    /// The opt-in nudge, nil when off.
    private let virtHandlerRestart: VirtHandlerRestart?

    private let whenSettled: @Sendable () -> Void

    init(
        reporter: NodeReporter, stop: StopSignal, logger: Logger, virtHandlerRestart: VirtHandlerRestart?,
        whenSettled: @escaping @Sendable () -> Void
    ) {
        self.virtHandlerRestart = virtHandlerRestart
        self.reporter = reporter
        self.stop = stop
        self.logger = logger
        self.whenSettled = whenSettled
    }

    /// The report as of now; sent unless it is the one sent last.
    func offer(_ offer: Offer) {
        pending.withLock { $0 = offer }
        wake.signal()
    }

    func run() {
        var sent: NodeReport?
        var transition = ""
        var throttle = EventThrottle()
        var backoff = Backoff()
        // The devices the node offered when virt-handler last looked: at start, what its annotation says.
        var offered: String??
        while !stop.wait(on: wake) {
            guard let offer = pending.withLock({ $0 }) else { continue }
            let (report, nodeUID) = (offer.report, offer.nodeUID)
            if offered == nil { offered = .some(offer.annotated) }
            guard report != sent else {
                // Nothing to send (the Node's echo of the agent's own report, a change that moves nothing):
                // what handling it faulted in is given back too.
                if pending.withLock({ $0?.report }) == report { whenSettled() }
                continue
            }
            if let sent {
                if sent.ready != report.ready { transition = Timestamp.seconds(Date()) }
            } else {
                transition = NodeReporter.Condition.transition(of: offer.condition, ready: report.ready, now: Date())
            }
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
            if report.state == .success, let restart = virtHandlerRestart {
                if VirtHandlerRestart.differs(report.summary, from: offered ?? nil) { restartVirtHandler(restart) }
                offered = .some(report.summary)
            }
            if pending.withLock({ $0?.report }) == report { whenSettled() }
        }
    }

    private func restartVirtHandler(_ restart: VirtHandlerRestart) {
        do {
            let deleted = try restart.restart()
            logger.info("the node offers other devices now: deleted its virt-handler pod (\(deleted.joined(separator: ", "))) for KubeVirt to start one that finds them")
        } catch {
            logger.warning("cannot restart this node's virt-handler, which may not offer the new devices until it restarts: \(error)")
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
