import MdevSysfs

/// Runs `body`, which blocks (it starts processes and waits for them: an API server, kubectl), on a thread
/// of its own and awaits it. A test that blocks on the cooperative pool holds one of its threads, as many as
/// the machine has cores; the API server tests held both of two for minutes, and the daemon tests running
/// beside them ran out of their time limits.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DedicatedThread.start {
            continuation.resume(with: Result { try body() })
        }
    }
}
