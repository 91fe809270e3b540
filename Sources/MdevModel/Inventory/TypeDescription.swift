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

    public init(parsing text: String) {
        var fields: [Field] = []
        for line in text.split(whereSeparator: \.isNewline) {
            for item in line.split(separator: ",") {
                let separator = item.firstIndex { $0 == "=" || $0 == ":" }
                guard let separator else { continue }
                let key = String(item[..<separator]).trimmingSpaces()
                let value = String(item[item.index(after: separator)...]).trimmingSpaces()
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
