import Yams

/// A YAML node together with its field path and file, so every conversion error can name
/// `FILE:LINE:COLUMN` and the field.
struct YAMLField {
    let node: Node
    /// The field path from the document root (`spec.configuration.mediatedDevicesConfiguration`).
    let path: String
    let file: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func error(_ message: String) -> InputError {
        InputError(location, field: path, message)
    }

    func warning(_ message: String) -> InputWarning {
        InputWarning(location: location, field: path, message: message)
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any {
            return node.null != nil
        }
        return false
    }

    /// One entry of a mapping: the key's text, the key itself (for errors about the key) and the value.
    struct Entry {
        let key: String
        let keyField: YAMLField
        let value: YAMLField
    }

    /// The entries of a mapping in file order. (Yams has already refused duplicate keys.)
    func mapping() throws(InputError) -> [Entry] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, found \(kind)") }
        var entries: [Entry] = []
        for (keyNode, valueNode) in mapping {
            let keyField = YAMLField(node: keyNode, path: path, file: file)
            guard case .scalar(let scalar) = keyNode else { throw keyField.error("a key must be a plain string") }
            let childPath = path.isEmpty ? scalar.string : "\(path).\(scalar.string)"
            entries.append(Entry(
                key: scalar.string, keyField: YAMLField(node: keyNode, path: childPath, file: file),
                value: YAMLField(node: valueNode, path: childPath, file: file)))
        }
        return entries
    }

    /// The items of a sequence; null counts as an empty sequence.
    func sequence() throws(InputError) -> [YAMLField] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kind)") }
        return sequence.enumerated().map { YAMLField(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// A scalar's text. Numbers and booleans are accepted as their text, as YAML writes them.
    func string() throws(InputError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error("expected a string, found \(kind)") }
        return scalar.string
    }

    func bool() throws(InputError) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = node.bool else {
            throw error("expected true or false, found \(kind)")
        }
        return value
    }

    /// What the node is, for messages.
    var kind: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull { return "nothing (null)" }
            return "'\(scalar.string)'"
        }
    }
}
