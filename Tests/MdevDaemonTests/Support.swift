import Foundation
import Logging
import MdevSysfs
import MdevModel
import MdevTestSupport
import Testing

@testable import MdevDaemon

/// Records sd_notify messages as systemd would receive them.
final class RecordingNotifier: ServiceNotifier {
    let messages = Recorder<String>()
    let watchdogInterval: Duration?

    init(watchdogInterval: Duration? = nil) {
        self.watchdogInterval = watchdogInterval
    }

    func ready(status: String) { messages.record("READY=1\nSTATUS=\(status)") }
    func reloading() { messages.record("RELOADING=1") }
    func status(_ text: String) { messages.record("STATUS=\(text)") }
    func stopping() { messages.record("STOPPING=1") }
    func watchdog() { messages.record("WATCHDOG=1") }
}

/// A swift-log handler that records every entry.
struct RecordingLogHandler: LogHandler {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var messageID: String? { metadata[JournalField.messageID] }
    }

    let entries: Recorder<Entry>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        entries.record(Entry(level: event.level, message: "\(event.message)", metadata: fields))
    }
}

/// The repository's root directory.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
