/// Decides what becomes of an Event the agent would record: a new Event, one more in the series of an
/// identical one recorded lately, or nothing (client-go's spam filter: a bucket of `burst` Events per
/// object, one back every `refill`).
public struct EventThrottle: Sendable {
    public var burst = 25
    public var refill: Duration = .seconds(300)
    /// An identical Event within this long is counted in its series rather than recorded again.
    public var seriesWindow: Duration = .seconds(1800)

    private var tokens: Double
    private var lastRefill: ContinuousClock.Instant?
    private var recent: [String: (name: String, count: Int, at: ContinuousClock.Instant)] = [:]

    public init() {
        tokens = Double(burst)
    }

    public enum Decision: Sendable, Hashable {
        case create
        /// Patch the Event `name`: it happened `count` times.
        case series(name: String, count: Int)
        case drop
    }

    /// What to do with an Event of `reason` and `note` at `now`.
    public mutating func decide(reason: String, note: String, now: ContinuousClock.Instant) -> Decision {
        if let lastRefill {
            tokens = min(Double(burst), tokens + (now - lastRefill) / refill)
        }
        lastRefill = now
        guard tokens >= 1 else { return .drop }
        tokens -= 1
        let key = reason + "\u{0}" + note
        if let last = recent[key], now - last.at < seriesWindow {
            recent[key] = (last.name, last.count + 1, now)
            return .series(name: last.name, count: last.count + 1)
        }
        return .create
    }

    /// The Event `name` was created for `reason` and `note` at `now`.
    public mutating func created(name: String, reason: String, note: String, now: ContinuousClock.Instant) {
        recent = recent.filter { now - $0.value.at < seriesWindow }
        recent[reason + "\u{0}" + note] = (name, 1, now)
    }
}
