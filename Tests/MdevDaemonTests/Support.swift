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

extension RecordingLogHandler.Entry {
    /// The journal's MESSAGE_ID of the entry, for the catalogued events.
    var messageID: String? { metadata[JournalField.messageID] }
}

/// The repository's root directory.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
