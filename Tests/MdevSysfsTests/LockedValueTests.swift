import Dispatch
import MdevSysfs
import Testing

/// The program's one lock. Under `swift test --sanitize=thread` (CI) a lock ThreadSanitizer cannot see, or a
/// missing one, is reported here.
@Suite("The lock")
struct LockedValueTests {
    @Test("Eight threads appending under the lock lose nothing")
    func concurrentAppends() {
        let values = LockedValue([Int]())
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<1000 { values.withLock { $0.append(thread * 1000 + index) } }
        }
        #expect(values.withLock { Set($0) } == Set(0..<8000))
    }

    @Test("An error thrown inside keeps its type and releases the lock")
    func throwing() {
        struct Refused: Error {}
        let value = LockedValue(1)
        #expect(throws: Refused.self) { try value.withLock { (_: inout Int) throws(Refused) in throw Refused() } }
        #expect(value.withLock { $0 } == 1)
    }
}
