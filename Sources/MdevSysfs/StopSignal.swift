import Dispatch

/// Stopping, said once and read from any thread: every wait on it ends at once, every action registered
/// with ``whenStopped(_:)`` runs (a request in flight is interrupted), and work that is about to start asks
/// ``isStopped``.
public final class StopSignal: Sendable {
    /// A registered action, to remove with ``remove(_:)``.
    public struct Registration: Sendable, Hashable {
        fileprivate let id: Int
    }

    private struct State {
        var stopped = false
        var nextID = 0
        var actions: [Int: @Sendable () -> Void] = [:]
    }

    private let state = LockedValue(State())

    public init() {}

    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Stops: runs every registered action, once.
    public func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            // Under the lock: once ``remove(_:)`` returned, its action neither runs nor is running.
            for action in state.actions.values { action() }
            state.actions = [:]
        }
    }

    /// Registers `action` to run when this stops (at once, here, when it has): it runs under this signal's
    /// lock, so it must be short and must not block or touch this signal. Nil when it ran already.
    public func whenStopped(_ action: @escaping @Sendable () -> Void) -> Registration? {
        let registration: Registration? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.nextID += 1
            state.actions[state.nextID] = action
            return Registration(id: state.nextID)
        }
        if registration == nil { action() }
        return registration
    }

    /// Removes a registered action: after this returns, it does not run, nor is it running.
    public func remove(_ registration: Registration?) {
        guard let registration else { return }
        _ = state.withLock { $0.actions.removeValue(forKey: registration.id) }
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
        let registration = whenStopped { semaphore.signal() }
        defer { remove(registration) }
        if let duration {
            let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            _ = semaphore.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
        } else {
            semaphore.wait()
        }
        return isStopped
    }
}
