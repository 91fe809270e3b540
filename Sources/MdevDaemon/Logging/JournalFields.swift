import Logging

/// The fields of one journal entry, built from a swift-log event.
///
/// Field names follow journald's rules: upper case, `[A-Z0-9_]` only, no leading `_` or digit (those mark
/// trusted fields), at most 64 characters. Metadata `mdev_parent` becomes `MDEV_PARENT`, `message_id`
/// becomes `MESSAGE_ID`.
struct JournalFields {
    private(set) var fields: [(name: String, value: String)] = []

    init(event: LogEvent, label: String, metadata: Logger.Metadata, identifier: String) {
        append("MESSAGE", "\(event.message)")
        append("PRIORITY", "\(Self.priority(of: event.level))")
        append("SYSLOG_IDENTIFIER", identifier)
        append("LOGGER", label)
        append("CODE_FILE", event.file)
        append("CODE_LINE", "\(event.line)")
        append("CODE_FUNC", event.function)
        if let error = event.error { append("ERROR", "\(error)") }
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() {
            guard let name = Self.fieldName(key) else { continue }
            append(name, "\(merged[key]!)")
        }
    }

    private mutating func append(_ name: String, _ value: String) {
        fields.append((name, value))
    }

    /// syslog priorities: debug 7, info 6, notice 5, warning 4, error 3, critical 2.
    static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The journal field name for a metadata key, or nil when nothing valid is left of it.
    static func fieldName(_ key: String) -> String? {
        var name = String(key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        while let first = name.first, first == "_" || first.isNumber { name.removeFirst() }
        name = String(name.prefix(64))
        return name.isEmpty ? nil : name
    }
}
