/// Text from files and the command line, made fit for a one-line message.
///
/// Messages quote what they found (a key, a value, a sysfs file's text). Such text may hold control
/// characters (ESC sequences a terminal obeys, CR that overwrites the line, NUL, newlines) and may be
/// megabytes long: quoted, it is escaped and cut, so a message stays one readable line.
extension StringProtocol {
    /// The text with every control character written as an escape (`\n`, `\r`, `\t`, `\0`, `\u{1B}`).
    public var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: MessageText.isControl) else { return String(self) }
        var result = ""
        for scalar in unicodeScalars {
            result += MessageText.isControl(scalar) ? MessageText.escape(scalar) : String(scalar)
        }
        return result
    }

    /// The text with every control character but the line feed escaped: several lines, each fit to print.
    public var escapingControlCharactersButLineFeeds: String {
        split(separator: "\n", omittingEmptySubsequences: false).map(\.escapingControlCharacters).joined(separator: "\n")
    }

    /// Whether the text holds a control character (``MessageText/isControl(_:)``).
    public var hasControlCharacters: Bool {
        unicodeScalars.contains(where: MessageText.isControl)
    }

    /// The text in single quotes, control characters escaped, cut after ``MessageText/quotedLimit``
    /// characters with a note of how many more there were.
    public var quoted: String { quoted(upTo: MessageText.quotedLimit) }

    /// The text quoted as ``quoted`` does, cut after `limit` characters.
    public func quoted(upTo limit: Int) -> String {
        let characters = count
        guard characters > limit else { return "'\(escapingControlCharacters)'" }
        return "'\(prefix(limit).escapingControlCharacters)…' (\(characters - limit) more characters)"
    }
}

extension StringProtocol {
    /// The text for inside double quotes where backslash escapes are read (a YAML double-quoted scalar, a
    /// Prometheus label value): backslash, double quote and line feed escaped.
    public var escapingForDoubleQuotes: String {
        var escaped = ""
        for character in self {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// The rules of ``StringProtocol/quoted``.
public enum MessageText {
    /// How many characters of a value a message quotes.
    public static let quotedLimit = 80

    /// C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what a terminal shows.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        case "\0": "\\0"
        default: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        }
    }
}
