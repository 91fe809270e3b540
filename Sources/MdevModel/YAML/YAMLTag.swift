/// A YAML tag by its full name (`tag:yaml.org,2002:str`), and the YAML 1.1 rules that give an untagged
/// plain scalar its tag (https://yaml.org/type/).
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

    /// The tag of an untagged plain scalar: the first rule its whole text matches, else `str`. Only int and
    /// float overlap (a decimal matches both): int is tried first, as YAML 1.1 orders them.
    /// (`y` and `n` are strings, as in every common YAML library.)
    static func resolving(plain text: String) -> YAMLTag {
        if text.isEmpty || nullWords.contains(text) { return .null }
        if boolWords.contains(text) { return .bool }
        let bytes = Array(text.utf8)
        if PlainScalarSyntax.isInt(bytes) { return .int }
        if PlainScalarSyntax.isFloat(bytes) { return .float }
        if text == "<<" { return .merge }
        if PlainScalarSyntax.isTimestamp(bytes) { return .timestamp }
        if text == "=" { return .value }
        return .str
    }

    private static let boolWords: Set<String> = trueWords.union(["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
    private static let nullWords: Set<String> = ["~", "null", "Null", "NULL"]
}
