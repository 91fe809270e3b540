import Foundation
import MdevKube
import MdevSysfs
import MdevTestSupport
import Testing

/// The token file is read again at least every minute and at once after a refusal, on a clock the test moves.
@Suite("The bearer token from a file")
struct TokenSourceTests {
    @Test("Read again after a minute, at once when invalidated; a file that cannot be read keeps the last token")
    func rereads() throws {
        let file = temporaryPath("token-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let start = ContinuousClock.now
        let elapsed = LockedValue<Duration>(.zero)
        let tokens = TokenSource(path: file) { start + elapsed.withLock { $0 } }
        #expect(tokens.token() == nil)
        try "first\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(tokens.token() == "first")
        try "second\n".write(toFile: file, atomically: true, encoding: .utf8)
        elapsed.withLock { $0 = .seconds(59) }
        #expect(tokens.token() == "first")
        elapsed.withLock { $0 = .seconds(60) }
        #expect(tokens.token() == "second")
        try " third \r\nignored\n".write(toFile: file, atomically: true, encoding: .utf8)
        tokens.invalidate()
        #expect(tokens.token() == "third")
        try FileManager.default.removeItem(atPath: file)
        elapsed.withLock { $0 = .seconds(600) }
        #expect(tokens.token() == "third")
    }
}
