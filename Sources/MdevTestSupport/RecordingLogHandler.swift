import Logging

/// A swift-log handler that records every entry, for tests to wait on (``Recorder/first(from:within:where:)``).
public struct RecordingLogHandler: LogHandler {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    public let entries: Recorder<Entry>
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(entries: Recorder<Entry>) {
        self.entries = entries
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        entries.record(Entry(level: event.level, message: "\(event.message)", metadata: fields))
    }
}
