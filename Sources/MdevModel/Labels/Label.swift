/// A Kubernetes-style node label, `key=value`.
public struct Label: Sendable, Hashable, Codable, CustomStringConvertible {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key)=\(value)" }
}

/// Kubernetes' syntax rules for label keys and values.
public enum LabelSyntax {
    /// Why `key` is not a valid label key (`[prefix/]name`), or nil when it is.
    static func problem(withKey key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return problem(withName: parts[0], what: "key")
        case 2:
            if let problem = problem(withPrefix: parts[0]) { return problem }
            return problem(withName: parts[1], what: "key name")
        default:
            return "a key has at most one '/'"
        }
    }

    /// Why `value` is not a valid label value, or nil when it is. Empty values are valid.
    static func problem(withValue value: String) -> String? {
        value.isEmpty ? nil : problem(withName: Substring(value), what: "value")
    }

    private static func problem(withName name: Substring, what: String) -> String? {
        guard !name.isEmpty else { return "the \(what) is empty" }
        guard name.count <= 63 else { return "the \(what) is longer than 63 characters" }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            return "the \(what) \(name.quoted) may hold only letters, digits, '-', '_' and '.'"
        }
        guard name.first!.isLetterOrDigit, name.last!.isLetterOrDigit else {
            return "the \(what) \(name.quoted) must start and end with a letter or digit"
        }
        return nil
    }

    /// Why `name` cannot be a node name, or nil: it must be a DNS subdomain that is also a label value
    /// (it becomes `kubernetes.io/hostname`), as Kubernetes requires of node names.
    public static func problem(withNodeName name: String) -> String? {
        guard !name.isEmpty else { return "the node name is empty" }
        return problem(withPrefix: Substring(name), what: "node name") ?? problem(withValue: name)
    }

    /// Why `prefix` (a key prefix, or what `what` names) is not a DNS subdomain, or nil.
    private static func problem(withPrefix prefix: Substring, what: String = "key prefix") -> String? {
        guard !prefix.isEmpty, prefix.count <= 253 else { return "the \(what) must be 1 to 253 characters" }
        for part in prefix.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 63,
                part.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }),
                part.first!.isLetterOrDigit, part.last!.isLetterOrDigit
            else { return "the \(what) \(prefix.quoted) is not a DNS subdomain (lower-case letters, digits, '-', '.')" }
        }
        return nil
    }
}

extension Character {
    var isLetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
