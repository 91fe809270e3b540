import Dispatch

/// Runs work that blocks in the kernel (sysfs and procfs reads, `sriov-manage`) on a Dispatch thread, off
/// Swift's cooperative pool, so a slow driver never starves the tasks that handle events and signals.
public enum BlockingCall {
    private static let queue = DispatchQueue(label: "mdev-reconciler.blocking", attributes: .concurrent)

    /// The result of `body`, run on a Dispatch thread.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: body)) }
        }
    }

    /// The result of `body`, run on a Dispatch thread.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
