import Dispatch
import MdevSysfs

/// The agent is stopping: every wait ends at once, and every request asks ``isStopped``.
public final class StopSignal: Sendable {
    private let state = LockedValue<(stopped: Bool, waiters: [DispatchSemaphore])>((false, []))

    public init() {}

    public var isStopped: Bool { state.withLock { $0.stopped } }

    public func stop() {
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.signal() }
    }

    /// Waits `duration` or until stopped; true when stopped.
    @discardableResult
    public func wait(_ duration: Duration) -> Bool {
        wait(on: DispatchSemaphore(value: 0), for: duration)
    }

    /// Waits until `semaphore` is signalled, `duration` passed (nil: no limit) or this is stopped; true when
    /// stopped.
    @discardableResult
    public func wait(on semaphore: DispatchSemaphore, for duration: Duration? = nil) -> Bool {
        let stopped = state.withLock { state in
            if !state.stopped { state.waiters.append(semaphore) }
            return state.stopped
        }
        if stopped { return true }
        if let duration {
            let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            _ = semaphore.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
        } else {
            semaphore.wait()
        }
        state.withLock { state in state.waiters.removeAll { $0 === semaphore } }
        return isStopped
    }
}
