/// How long to wait before trying the API server again: client-go's reflector backoff. It starts at
/// `initial`, doubles to `maximum`, each wait stretched by up to `jitter` of itself at random, and starts
/// over once the last failure is `reset` ago (a healthy period).
public struct Backoff: Sendable {
    public var initial: Duration = .milliseconds(800)
    public var maximum: Duration = .seconds(30)
    public var jitter = 1.0
    public var reset: Duration = .seconds(120)
    private var current: Duration?
    private var lastFailure: ContinuousClock.Instant?

    public init() {}

    /// The wait after a failure at `now`; `random` is in [0, 1).
    public mutating func next(now: ContinuousClock.Instant, random: Double = Double.random(in: 0..<1)) -> Duration {
        if let lastFailure, now - lastFailure >= reset { current = nil }
        lastFailure = now
        let base = current.map { min($0 * 2, maximum) } ?? initial
        current = base
        return base + base * (jitter * random)
    }
}
