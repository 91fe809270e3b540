#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A value shared between threads, behind a pthread mutex: the program's one lock.
///
/// Not Synchronization's `Mutex`: on Linux ThreadSanitizer cannot see its futex, and reports every use of it
/// as a race (eight threads appending under one `Mutex` are enough); a pthread mutex it understands, so a
/// report from `swift test --sanitize=thread` is a real one.
public final class LockedValue<Value> {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

// The value is only ever touched with the lock held.
extension LockedValue: @unchecked Sendable where Value: Sendable {}
