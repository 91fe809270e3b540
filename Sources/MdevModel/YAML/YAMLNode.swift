/// A position in a YAML text, 1-based; the column counts Unicode scalars, as libyaml counts them.
struct YAMLMark: Sendable, Hashable {
    var line: Int
    var column: Int
}

/// One node of a composed YAML document: a scalar, a sequence or a mapping, its resolved tag and where it
/// starts. Aliases are resolved to the node their anchor names.
struct YAMLNode: Sendable {
    enum ScalarStyle: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    enum Content: Sendable {
        case scalar(String, ScalarStyle)
        case sequence([YAMLNode])
        /// The entries in file order.
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    var content: Content
    /// The explicit tag, or what YAML 1.1 resolves an untagged node to.
    var tag: YAMLTag
    var mark: YAMLMark

    /// A plain scalar YAML reads as null (`~`, `null`, nothing at all).
    var isNull: Bool {
        if case .scalar(_, .plain) = content { return tag == .null }
        return false
    }

    /// The value of a scalar tagged as a boolean (`true`, `yes`, `on` and their capitalisations are true).
    var bool: Bool? {
        guard case .scalar(let text, _) = content, tag == .bool else { return nil }
        return YAMLTag.trueWords.contains(text)
    }
}
