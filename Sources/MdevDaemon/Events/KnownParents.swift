import MdevSysfs

/// The names of the parents the daemon knows, shared between the pass (which learns them) and the
/// event sources (which route events by them).
public final class KnownParents: Sendable {
    private let names = LockedValue<Set<String>>([])

    public init() {}

    public var current: Set<String> { names.withLock { $0 } }

    public func set(_ parents: Set<String>) {
        names.withLock { $0 = parents }
    }
}
