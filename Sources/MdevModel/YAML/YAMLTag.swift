/// A YAML tag by its full name (`tag:yaml.org,2002:str`), and the YAML 1.1 rules that give an untagged
/// plain scalar its tag (https://yaml.org/type/), in the order they are tried.
struct YAMLTag: RawRepresentable, Sendable, Hashable {
    var rawValue: String

    static let str = YAMLTag(rawValue: "tag:yaml.org,2002:str")
    static let seq = YAMLTag(rawValue: "tag:yaml.org,2002:seq")
    static let map = YAMLTag(rawValue: "tag:yaml.org,2002:map")
    static let bool = YAMLTag(rawValue: "tag:yaml.org,2002:bool")
    static let int = YAMLTag(rawValue: "tag:yaml.org,2002:int")
    static let float = YAMLTag(rawValue: "tag:yaml.org,2002:float")
    static let null = YAMLTag(rawValue: "tag:yaml.org,2002:null")
    static let merge = YAMLTag(rawValue: "tag:yaml.org,2002:merge")
    static let timestamp = YAMLTag(rawValue: "tag:yaml.org,2002:timestamp")
    static let value = YAMLTag(rawValue: "tag:yaml.org,2002:value")
    static let binary = YAMLTag(rawValue: "tag:yaml.org,2002:binary")

    /// The words YAML 1.1 reads as `true` (the others of `bool`'s rule are `false`).
    static let trueWords: Set<String> = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]

    /// The tag of an untagged plain scalar: the first rule its whole text matches, else `str`.
    /// (`y` and `n` are strings, as in every common YAML library.)
    static func resolving(plain text: String) -> YAMLTag {
        // Every rule's text starts with one of these: the rest are strings without running a pattern.
        guard let first = text.unicodeScalars.first else { return .null }
        guard "0123456789+-.~<=yYnNtTfFoO".unicodeScalars.contains(first) else { return .str }
        for (tag, pattern) in rules where (try? pattern.wholeMatch(in: text)) != nil {
            return tag
        }
        return .str
    }

    nonisolated(unsafe) private static let rules: [(YAMLTag, Regex<Substring>)] = [
        (.bool, /yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF/),
        (.int, /[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+/),
        (.float, /[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)/),
        (.merge, /<</),
        (.null, /~|null|Null|NULL/),
        (.timestamp, /[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?/),
        (.value, /=/),
    ]
}
