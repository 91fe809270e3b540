import MdevSysfs

/// How long the reconciler waits: the debounce window, its cap, the retry policy's backoffs, and the deadlines.
/// The one timing table of the daemon.
public struct ReconcilerTiming: Sendable, Hashable {
    /// A burst of events becomes one pass once no event came for this long.
    public var quietPeriod: Duration = .milliseconds(100)
    /// A never-ending storm still gets a pass this long after its first event.
    public var maximumDelay: Duration = .seconds(1)
    /// Retries of a parent whose changes failed persistently (EIO, EINVAL, values that do not parse), and of
    /// a host that could not be read.
    public var failureBackoff = Backoff(initial: .seconds(1), maximum: .seconds(300))
    /// The first retries of a transient failure (EBUSY, EPERM, EAGAIN; EEXIST), before the failure backoff.
    public var transientBackoff = Backoff(initial: .milliseconds(500), maximum: .seconds(4))
    public var transientRetries = 5
    /// Retries of a parent with no capacity (ENOSPC) or going away (ENODEV, ENOENT): its events come first,
    /// this is the safety net.
    public var slowBackoff = Backoff(initial: .seconds(60), maximum: .seconds(300))
    /// Re-checks of parents blocked by devices in use: releasing a VFIO file emits no event.
    public var inUseBackoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
    /// A sysfs write that has not returned after this long marks its parent stuck.
    public var writeDeadline: Duration = ReconcileEngine.defaultWriteDeadline
    /// On stop, an in-flight pass gets this long to finish before it is abandoned.
    public var stopGracePeriod: Duration = .seconds(3)
    /// How long one `sriov-manage -e` may take before it is reported like a stuck write.
    public var sriovManageDeadline: Duration = VirtualFunctionEnabler.defaultDeadline

    /// The waits between EPERM retries inside one vendor-mode clear: NVIDIA's defaults, as many as fit into half
    /// the write deadline, so a clear that keeps being refused fails (and is retried as transient) well before
    /// its parent could be taken for stuck. With the default 10 s deadline that is 0.5, 1, 1.5 and 2 s.
    public var vendorClearRetryDelays: [Duration] {
        var budget = writeDeadline / 2
        var delays: [Duration] = []
        for delay in VendorVGPUBackend.defaultClearRetryDelays where delay <= budget {
            delays.append(delay)
            budget -= delay
        }
        return delays
    }

    public init() {}

    /// The delay before retry number `attempt` (0 for the first) of a parent that failed this way.
    public func retryDelay(_ retryClass: RetryClass, attempt: Int) -> Duration {
        switch retryClass {
        case .noCapacity, .parentGoing:
            slowBackoff.delay(attempt: attempt)
        case .transient, .changedMeanwhile:
            attempt < transientRetries
                ? transientBackoff.delay(attempt: attempt) : failureBackoff.delay(attempt: attempt - transientRetries)
        case .inUse:
            inUseBackoff.delay(attempt: attempt)
        case .persistent:
            failureBackoff.delay(attempt: attempt)
        }
    }
}

/// Exponential backoff: `initial`, doubling per attempt, capped at `maximum`.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before retry number `attempt` (0 for the first retry).
    public func delay(attempt: Int) -> Duration {
        var delay = initial
        for _ in 0..<max(0, attempt) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }
}
