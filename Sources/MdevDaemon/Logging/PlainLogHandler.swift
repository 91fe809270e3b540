import Logging
import SystemPackage

/// A swift-log handler that writes one readable line per entry to standard error:
/// `<level> message key=value ...`, with the syslog priority prefix (`<5>`) that journald parses when
/// the line reaches it through a plain stream.
public struct PlainLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info

    public init() {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        Self.write(line: Self.format(event: event, metadata: metadata))
    }

    static func format(event: LogEvent, metadata: Logger.Metadata) -> String {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.keys.sorted().filter { $0 != JournalField.messageID }.map { "\($0)=\(merged[$0]!)" }
        let error = event.error.map { " error=\($0)" } ?? ""
        let text = "<\(JournalFields.priority(of: event.level))>\(event.level) \(event.message)"
        return ([text] + fields).joined(separator: " ") + error
    }

    static func write(line: String) {
        _ = try? FileDescriptor.standardError.writeAll(Array((line + "\n").utf8))
    }
}
