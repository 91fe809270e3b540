/// A YAML node together with its field path and file, so every conversion error can name
/// `FILE:LINE:COLUMN` and the field.
struct YAMLField {
    let node: YAMLNode
    /// The field path from the document root (`spec.configuration.mediatedDevicesConfiguration`).
    let path: String
    let file: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark.line, column: node.mark.column)
    }

    func error(_ message: String) -> InputError {
        InputError(location, field: path, message)
    }

    func warning(_ message: String) -> InputWarning {
        InputWarning(location: location, field: path, message: message)
    }

    var isNull: Bool { node.isNull }

    /// One entry of a mapping: the key's text, the key itself (for errors about the key) and the value.
    struct Entry {
        let key: String
        let keyField: YAMLField
        let value: YAMLField
    }

    /// The entries of a mapping in file order. (The composer has already refused duplicate keys.)
    func mapping() throws(InputError) -> [Entry] {
        guard case .mapping(let mapping) = node.content else { throw error("expected a mapping, found \(kind)") }
        try checkTag(.map)
        var entries: [Entry] = []
        for (keyNode, valueNode) in mapping {
            let keyField = YAMLField(node: keyNode, path: path, file: file)
            guard case .scalar(let key, _) = keyNode.content else { throw keyField.error("a key must be a plain string") }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            entries.append(Entry(
                key: key, keyField: YAMLField(node: keyNode, path: childPath, file: file),
                value: YAMLField(node: valueNode, path: childPath, file: file)))
        }
        return entries
    }

    /// The items of a sequence; null counts as an empty sequence.
    func sequence() throws(InputError) -> [YAMLField] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node.content else { throw error("expected a list, found \(kind)") }
        try checkTag(.seq)
        return sequence.enumerated().map { YAMLField(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// A string scalar's text. A plain scalar YAML reads as a number or a boolean (`222`, `0x1F`, `1.5e3`,
    /// `true`) is refused, as Kubernetes refuses it: what is meant as text is quoted.
    func string() throws(InputError) -> String {
        guard case .scalar(let text, _) = node.content, !isNull else { throw error("expected a string, found \(kind)") }
        try checkTag(.str)
        return text
    }

    func bool() throws(InputError) -> Bool {
        guard case .scalar(let text, let style) = node.content, !isNull else { throw error("expected true or false, found \(kind)") }
        if node.tag == .str && (style == .singleQuoted || style == .doubleQuoted) {
            throw error("expected true or false, found the string \(text.quoted): a quoted value is text, not a boolean; write it without quotes")
        }
        try checkTag(.bool)
        guard let value = node.bool else { throw error("expected true or false, found \(kind)") }
        return value
    }

    /// Refuses a node whose tag (explicit, or what YAML resolves a plain scalar to) is not `expected`.
    private func checkTag(_ expected: YAMLTag) throws(InputError) {
        let name = node.tag
        guard name != expected else { return }
        if let what = Self.resolvedKinds[name] {
            let advice = expected == .str ? "; quote it if it is meant as text" : ""
            throw error("expected \(Self.expectedKinds[expected] ?? expected.rawValue), found \(what) \(kind)\(advice)")
        }
        throw error("unknown tag \(name.rawValue.quoted); this file uses no tags")
    }

    private static let resolvedKinds: [YAMLTag: String] = [
        .int: "the number", .float: "the number", .bool: "the boolean", .null: "null", .str: "the string",
        .map: "a mapping", .seq: "a list", .timestamp: "the timestamp", .binary: "binary data",
    ]
    private static let expectedKinds: [YAMLTag: String] = [
        .str: "a string", .bool: "true or false", .map: "a mapping", .seq: "a list",
    ]

    /// What the node is, without its text: for a file that may not be a config at all.
    var shape: String {
        switch node.content {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar: isNull ? "nothing (null)" : "a line of text"
        }
    }

    /// What the node is, for messages.
    var kind: String {
        switch node.content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let text, _):
            if isNull { return "nothing (null)" }
            return text.quoted
        }
    }
}
