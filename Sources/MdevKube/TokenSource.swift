import Glibc
import MdevSysfs

/// Where a request's bearer token comes from; told when the API server refused one.
public protocol BearerTokens: Sendable {
    func token() -> String?
    func invalidate()
}

/// One token that never changes (a kubeconfig's `token`).
public struct FixedToken: BearerTokens {
    public let value: String?

    public init(_ value: String?) {
        self.value = value
    }

    public func token() -> String? { value }
    public func invalidate() {}
}

/// The bearer token, from a file that is read again at least every minute and at once after a 401: a
/// projected service-account token rotates (client-go's cachingTokenSource does the same).
public final class TokenSource: BearerTokens {
    public let path: String
    /// How long a token read is used before the file is read again.
    public let maximumAge: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let cached = LockedValue<(token: String, read: ContinuousClock.Instant)?>(nil)

    public init(path: String, maximumAge: Duration = .seconds(60), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.path = path
        self.maximumAge = maximumAge
        self.now = now
    }

    /// The token: the last one read while it is younger than ``maximumAge``, else the file's now. Nil when
    /// the file cannot be read or is empty (and nothing was read before).
    public func token() -> String? {
        let instant = now()
        if let cached = cached.withLock({ $0 }), instant - cached.read < maximumAge { return cached.token }
        guard let text = Self.read(path) else { return cached.withLock { $0?.token } }
        cached.withLock { $0 = (text, instant) }
        return text
    }

    /// The API server refused the token (401): the next ``token()`` reads the file again.
    public func invalidate() {
        cached.withLock { $0 = nil }
    }

    /// The file's first line, trimmed; nil when it cannot be read or holds nothing. At most 64 KiB is read.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65536)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: " \t\r") } ?? ""
        return token.isEmpty ? nil : token
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}
