import Dispatch
import Glibc
import MdevSysfs
import MdevTestSupport
import Testing

@Suite("A dedicated thread")
struct DedicatedThreadTests {
    @Test("Runs its work on a thread of its own, not the caller's, while the caller goes on")
    func ownThread() async throws {
        let caller = pthread_self()
        let ran = Recorder<Bool>()
        let release = DispatchSemaphore(value: 0)
        DedicatedThread.start {
            // Blocks until the caller, which went on, lets it end.
            release.wait()
            ran.record(pthread_equal(pthread_self(), caller) == 0)
        }
        #expect(ran.count == 0)
        release.signal()
        #expect(try await ran.first(from: 0) { _ in true } == true)
    }
}
