import MdevModel

/// Builds a file in Prometheus' text exposition format (version 0.0.4), the format node_exporter's textfile
/// collector reads: each family once, with `# HELP` and `# TYPE`, then its samples, label values escaped.
public struct MetricsText: Sendable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// One sample: labels in the order given, and its value.
    public struct Sample: Sendable {
        public var labels: [(name: String, value: String)]
        public var value: Double

        public init(_ labels: [(name: String, value: String)], _ value: Double) {
            self.labels = labels
            self.value = value
        }

        public init(_ labels: [(name: String, value: String)], _ value: Int) {
            self.init(labels, Double(value))
        }

        /// A sample without labels.
        public init(_ value: Int) {
            self.init([], Double(value))
        }

        public init(_ value: Double) {
            self.init([], value)
        }
    }

    /// The text so far.
    public private(set) var text = ""

    public init() {}

    /// Adds a family of counters or gauges. A family without samples still says what it is, so a scraper
    /// sees that the series exist and are empty now (no card blocked, say).
    public mutating func family(_ name: String, _ kind: Kind, help: String, _ samples: [Sample]) {
        header(name, kind, help: help)
        for sample in samples { line(name, sample.labels, sample.value) }
    }

    /// Adds a histogram: cumulative buckets with their upper bounds, `+Inf`, then `_sum` and `_count`.
    public mutating func histogram(_ name: String, help: String, _ histogram: Histogram) {
        header(name, .histogram, help: help)
        var cumulative = 0
        for (bound, count) in zip(histogram.bounds, histogram.counts) {
            cumulative += count
            line(name + "_bucket", [("le", Self.number(bound))], Double(cumulative))
        }
        line(name + "_bucket", [("le", "+Inf")], Double(histogram.count))
        line(name + "_sum", [], histogram.sum)
        line(name + "_count", [], Double(histogram.count))
    }

    private mutating func header(_ name: String, _ kind: Kind, help: String) {
        // HELP escapes backslash and line feed (not the double quote).
        let escaped = help.map { $0 == "\\" ? "\\\\" : $0 == "\n" ? "\\n" : String($0) }.joined()
        text += "# HELP \(name) \(escaped)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    private mutating func line(_ name: String, _ labels: [(name: String, value: String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.name)=\"\($0.value.escapingForDoubleQuotes)\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    /// A value: whole numbers without a fraction (`3`, not `3.0`), others as Go's parser reads them.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Counts of observations in buckets with fixed upper bounds, for a Prometheus histogram.
public struct Histogram: Sendable, Hashable {
    /// The upper bounds, ascending.
    public let bounds: [Double]
    /// Observations per bucket (not cumulative): `counts[i]` fell in `(bounds[i-1], bounds[i]]`.
    public private(set) var counts: [Int]
    public private(set) var sum = 0.0
    public private(set) var count = 0

    public init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        counts = Array(repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ value: Double) {
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        sum += value
        count += 1
    }
}
