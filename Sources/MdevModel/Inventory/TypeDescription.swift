/// The `description` file of a type, parsed into ordered key/value pairs.
///
/// Drivers write it in different shapes: NVIDIA one line of `key=value` pairs separated by commas
/// (`num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=16`),
/// GVT-g several `key: value` lines. Both are accepted; text that fits neither is kept only as raw text.
public struct TypeDescription: Sendable, Hashable, Codable {
    public struct Field: Sendable, Hashable, Codable {
        public var key: String
        public var value: String
    }

    public var fields: [Field]

    /// Split by Unicode scalar, not by `Character`: a comma or newline followed by a combining mark is one
    /// `Character` with it, and would not separate anything (fuzzing found such a field holding a comma).
    public init(parsing text: String) {
        var fields: [Field] = []
        let newlines: Set<Unicode.Scalar> = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}"]
        for line in text.unicodeScalars.split(whereSeparator: newlines.contains) {
            for item in line.split(separator: ",") {
                guard let separator = item.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
                let key = String(String.UnicodeScalarView(item[..<separator])).trimmingSpaces()
                let value = String(String.UnicodeScalarView(item[item.index(after: separator)...])).trimmingSpaces()
                if !key.isEmpty { fields.append(Field(key: key, value: value)) }
            }
        }
        self.fields = fields
    }

    /// The value of `key`, if present.
    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// `max_instance`, when present and numeric.
    public var maxInstances: Int? { self["max_instance"].flatMap(SysfsNumber.count) }
}
