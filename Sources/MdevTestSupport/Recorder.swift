import MdevSysfs

/// A wait in a test outlived its real-time deadline.
public struct DeadlineExceeded: Error {
    public init() {}
}

/// Items recorded from any thread, which tests wait for without sleeping: a waiter is resumed by the
/// recording itself, and only a real-time deadline (a guard against hangs) ends the wait otherwise.
public final class Recorder<Item: Sendable>: Sendable {
    private struct Waiter {
        var id: Int
        var start: Int
        var predicate: @Sendable (Item) -> Bool
        var continuation: CheckedContinuation<Item?, Never>
        /// Ends the wait at its deadline; cancelled when the item comes first.
        var expiry: Task<Void, Never>?
    }

    private struct State {
        var items: [Item] = []
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = LockedValue(State())

    public init() {}

    public func record(_ item: Item) {
        let resumed = state.withLock { state in
            state.items.append(item)
            let index = state.items.count - 1
            let matching = state.waiters.filter { index >= $0.start && $0.predicate(item) }
            state.waiters.removeAll { waiter in matching.contains { $0.id == waiter.id } }
            return matching
        }
        for waiter in resumed {
            waiter.expiry?.cancel()
            waiter.continuation.resume(returning: item)
        }
    }

    public var all: [Item] { state.withLock { $0.items } }
    public var count: Int { state.withLock { $0.items.count } }

    /// The first item at index `start` or later that matches, recorded already or in the future; fails
    /// after `seconds` of real time. The default is generous: under a sanitizer on two cores the whole suite
    /// runs at once and one wait has taken over 20 s (measured: a 0.05 s test took 74 s in the full
    /// ThreadSanitizer run); a wait that never ends still fails.
    public func first(from start: Int, within seconds: Double = 60, where predicate: @escaping @Sendable (Item) -> Bool) async throws -> Item {
        let found: Item? = await withCheckedContinuation { continuation in
            let id: Int? = state.withLock { state in
                if let item = state.items.dropFirst(start).first(where: predicate) {
                    continuation.resume(returning: item)
                    return nil
                }
                state.nextID += 1
                state.waiters.append(Waiter(id: state.nextID, start: start, predicate: predicate, continuation: continuation))
                return state.nextID
            }
            guard let id else { return }
            let expiry = Task {
                do { try await Task.sleep(for: .seconds(seconds)) } catch { return }
                self.expire(id)
            }
            state.withLock { state in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) { state.waiters[index].expiry = expiry }
            }
        }
        guard let found else { throw DeadlineExceeded() }
        return found
    }

    private func expire(_ id: Int) {
        let waiter = state.withLock { state in
            state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
        }
        waiter?.continuation.resume(returning: nil)
    }
}
