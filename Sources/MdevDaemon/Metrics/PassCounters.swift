import FoundationEssentials
import MdevModel
import MdevSysfs

/// What the metrics count across passes: passes by trigger, write failures by parent and errno, how long
/// passes took, and when one last converged. Kept by the daemon from its start (apply: its one pass).
public struct PassCounters: Sendable {
    /// A write failure's labels: the parent, and the errno by name (`none` when the kernel gave none).
    public struct FailureKey: Sendable, Hashable, Comparable {
        public var parent: String
        public var errno: String

        public static func < (lhs: FailureKey, rhs: FailureKey) -> Bool {
            (lhs.parent, lhs.errno) < (rhs.parent, rhs.errno)
        }
    }

    /// The upper bounds of the pass duration histogram, in seconds: a pass of an idle host takes about a
    /// millisecond, one that creates dozens of devices a second or more, one waiting on a stuck write up
    /// to the write deadline.
    public static let durationBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    /// The triggers reported even before they counted anything (a counter at 0 is a series, an absent one is not).
    public let triggers: [PassTrigger]
    public private(set) var passes: [PassTrigger: Int] = [:]
    public private(set) var writeFailures: [FailureKey: Int] = [:]
    public private(set) var duration = Histogram(bounds: PassCounters.durationBounds)
    /// When the last pass that left the host matching its plan ended.
    public private(set) var lastConverged: Date?

    public init(triggers: [PassTrigger]) {
        self.triggers = triggers
    }

    /// Counts one pass.
    /// - Parameter converged: the host matches the plan after it (no changes left, no failure, nothing stuck;
    ///   a parent blocked by a device in use still counts).
    public mutating func record(trigger: PassTrigger, duration: Duration, failures: [ApplyReport.Failure], converged: Bool, at end: Date) {
        passes[trigger, default: 0] += 1
        for failure in failures {
            writeFailures[FailureKey(parent: failure.parent, errno: failure.cause.errno?.symbolicName ?? "none"), default: 0] += 1
        }
        self.duration.observe(duration.inSeconds)
        if converged { lastConverged = end }
    }
}
