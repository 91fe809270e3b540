#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A thread of its own for work that blocks for as long as another program runs (reading its output to
/// the end, reaping it).
///
/// Not Dispatch's global queues: on Linux, libdispatch notices a blocked worker only through a monitor
/// that runs once a second, so every worker held for long by a blocking read delays the other work on
/// those queues by up to a second.
public enum DedicatedThread {
    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Runs `body` on a new detached thread.
    public static func start(_ body: @escaping @Sendable () -> Void) {
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, work)
        // Out of threads (EAGAIN): run it here rather than never.
        if result != 0 { Unmanaged<Work>.fromOpaque(work).takeRetainedValue().body() }
    }
}
