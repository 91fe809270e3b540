import Logging
import MdevSysfs
import Testing

@testable import MdevDaemon

@Suite("Journal entries")
struct LoggingTests {
    func event(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) -> LogEvent {
        LogEvent(level: level, message: "\(message)", metadata: metadata, source: "MdevDaemon",
                 file: "MdevDaemon/HostReconciler.swift", function: "run(_:)", line: 42)
    }

    @Test("Metadata keys become journal field names by journald's rules", arguments: [
        ("mdev_parent", "MDEV_PARENT"), ("message_id", "MESSAGE_ID"), ("mdev.uuid", "MDEV_UUID"),
        ("_trusted", "TRUSTED"), ("9lives", "LIVES"), ("é", nil), (String(repeating: "k", count: 80), String(repeating: "K", count: 64)),
    ] as [(String, String?)])
    func fieldNames(key: String, field: String?) {
        #expect(JournalFields.fieldName(key) == field)
    }

    @Test("An entry carries message, priority, identifier, code location and every metadata field")
    func fields() {
        let entry = JournalFields(
            event: event(.notice, "created 1 (nvidia-222) on 0000:3b:00.0",
                         [JournalField.messageID: "69c6fca13f81446ba44b82dfeee622fc", JournalField.parent: "0000:3b:00.0"]),
            label: "mdev-reconciler", metadata: ["node": "n1"], identifier: "mdev-reconciler")
        let fields = Dictionary(entry.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(fields["MESSAGE"] == "created 1 (nvidia-222) on 0000:3b:00.0")
        #expect(fields["PRIORITY"] == "5")
        #expect(fields["SYSLOG_IDENTIFIER"] == "mdev-reconciler")
        #expect(fields["CODE_FILE"] == "MdevDaemon/HostReconciler.swift")
        #expect(fields["CODE_LINE"] == "42")
        #expect(fields["MESSAGE_ID"] == "69c6fca13f81446ba44b82dfeee622fc")
        #expect(fields["MDEV_PARENT"] == "0000:3b:00.0")
        #expect(fields["NODE"] == "n1")
    }

    @Test("Priorities follow syslog", arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func priorities(level: Logger.Level, priority: Int) {
        #expect(JournalFields.priority(of: level) == priority)
    }

    @Test("Plain lines: syslog prefix, level, message, then sorted key=value, without the message id")
    func plainLine() {
        let line = PlainLogHandler.format(
            event: event(.warning, "parent 0000:3c:00.0 is gone", [JournalField.parent: "0000:3c:00.0", JournalField.messageID: "x"]),
            metadata: [:])
        #expect(line == "<4>warning parent 0000:3c:00.0 is gone mdev_parent=0000:3c:00.0")
    }

    @Test("Every journal event kind has its own 128-bit message id, and the catalog documents each")
    func messageIDs() throws {
        let ids = JournalEvent.allCases.map(\.messageID)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) && $0 == $0.lowercased() })
        let catalog = try FileSystem.readText(repositoryRoot + "/systemd/mdev-reconciler.catalog")
        for id in ids { #expect(catalog.contains("-- \(id)"), "\(id) is not in the catalog") }
    }
}
