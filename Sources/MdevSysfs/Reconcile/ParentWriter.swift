import Dispatch
import MdevModel

/// The writer of `apply` and the daemon: runs each parent's writes on a Dispatch queue of their own and waits for them on
/// `clock`, at most `deadline`. Writes past it go on in the background; when they return at last, the writer
/// reports it (``onLateReturn``). A write to sysfs can block inside the kernel (a `remove` whose device a VM took meanwhile,
/// a driver stuck in firmware); the daemon keeps serving every other parent and every signal.
public struct ParentWriter<C: Clock>: ParentWriting where C.Duration == Duration {
    public let clock: C
    public let deadline: Duration
    /// Called with the parent's name when writes that missed their deadline finally return.
    public let onLateReturn: @Sendable (String) -> Void
    private let queue = DispatchQueue(label: "mdev-reconciler.writes", attributes: .concurrent)
    private let stopping = StopSignal()

    public init(clock: C, deadline: Duration, onLateReturn: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.deadline = deadline
        self.onLateReturn = onLateReturn
    }

    public func execute(_ plan: ParentPlan, at location: ParentLocation, control: any MdevDeviceControl) async -> ParentExecutor.Outcome? {
        let result = LockedValue<ParentExecutor.Outcome??>(nil)  // .some(nil): timed out; .some(x): done
        return await withCheckedContinuation { (continuation: CheckedContinuation<ParentExecutor.Outcome?, Never>) in
            let finish = { @Sendable (outcome: ParentExecutor.Outcome?) -> Bool in
                let first = result.withLock { state in
                    guard state == nil else { return false }
                    state = .some(outcome)
                    return true
                }
                if first { continuation.resume(returning: outcome) }
                return first
            }
            // The deadline is fixed now, not when the task first runs.
            let expiry = clock.now.advanced(by: deadline)
            let timeout = Task { [clock] in
                do { try await clock.sleep(until: expiry, tolerance: nil) } catch { return }
                _ = finish(nil)
            }
            queue.async { [onLateReturn, stopping] in
                let outcome = ParentExecutor.execute(plan, at: location, control: control) { !stopping.isStopped }
                timeout.cancel()
                if !finish(outcome) { onLateReturn(plan.parent) }
            }
        }
    }
}

extension ParentWriter {
    public func stopStartingWrites() {
        stopping.stop()
    }
}

extension ParentExecutor.Outcome: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.parent == b.parent && a.created == b.created && a.removed == b.removed && a.failures == b.failures
            && a.shortOfCapacity == b.shortOfCapacity
    }
}
