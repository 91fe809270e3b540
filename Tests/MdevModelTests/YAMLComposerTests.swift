import Testing
import MdevTestSupport

@testable import MdevModel

@Suite("YAML: libyaml's events composed into nodes")
struct YAMLComposerTests {
    func root(_ text: String) throws -> YAMLNode {
        try #require(try YAMLComposer.compose(text))
    }

    func failure(_ text: String) -> YAMLError? {
        do {
            _ = try YAMLComposer.compose(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("Untagged plain scalars get YAML 1.1's tags; quoted and block scalars are strings", arguments: [
        ("nvidia-222", YAMLTag.str), ("222", .int), ("-0x1F", .int), ("0o17", .int), ("0b101", .int), ("1_000", .int),
        ("190:20:30", .int), ("1.5e3", .float), (".5", .float), ("-.inf", .float), (".NaN", .float),
        ("true", .bool), ("Off", .bool), ("yes", .bool), ("y", .str), ("n", .str), ("TrUe", .str),
        ("~", .null), ("null", .null), ("NULL", .null), ("nil", .str), ("<<", .merge), ("=", .value),
        ("2001-12-14", .timestamp), ("2001-12-14t21:59:43.10-05:00", .timestamp), ("2001-12-14 21:59:43.10 Z", .timestamp),
        ("0_", .int), ("017", .int), ("+0x_F", .int), ("1:2:3", .int), ("1e5", .float), ("1:59.5", .float), ("1_0.", .float),
        (".5e+3", .float), ("+.inf", .float), ("1:60", .str), ("9:99", .str), (".5e3", .str), ("+.nan", .str), ("0b", .str),
        ("0b012", .str), ("08", .float), ("1__", .int), ("2001-12-14 21:59:43.10 -5", .timestamp), ("2001-12-14T1:59:43+05:30", .timestamp),
        ("2001-12-14T1:59:43+05:3", .str), ("2001-12-14T21:59", .str), ("20011-12-14", .str),
        ("2001-1-14", .str), ("0x", .str), ("1.2.3", .str), ("+", .str), ("-x", .str), ("o", .str),
        ("\"222\"", .str), ("'true'", .str), ("! 222", .str), ("!!str 222", .str), ("|\n  222\n", .str),
    ])
    func tags(text: String, tag: YAMLTag) throws {
        #expect(try root(text).tag == tag)
    }

    @Test("Nothing at all is no document; an empty value is null")
    func emptiness() throws {
        #expect(try YAMLComposer.compose("") == nil)
        #expect(try YAMLComposer.compose("# only a comment\n") == nil)
        guard case .mapping(let entries) = try root("a:\n").content else { Issue.record("not a mapping"); return }
        #expect(entries.count == 1)
        #expect(entries[0].value.isNull)
        #expect(entries[0].value.tag == .null)
        #expect(try !root("'~'").isNull)
    }

    @Test("Booleans read as YAML 1.1 reads them")
    func booleans() throws {
        for word in ["true", "True", "TRUE", "yes", "Yes", "on", "ON"] { #expect(try root(word).bool == true, "\(word)") }
        for word in ["false", "no", "NO", "off", "Off"] { #expect(try root(word).bool == false, "\(word)") }
        #expect(try root("'true'").bool == nil)
    }

    @Test("An alias is the node its anchor names, at the alias's own position")
    func aliases() throws {
        let node = try root("a: &types [x, y]\nb: *types\n")
        guard case .mapping(let entries) = node.content, case .sequence(let items) = entries[1].value.content else {
            Issue.record("not a mapping of lists")
            return
        }
        #expect(items.count == 2)
        #expect(entries[1].value.mark == YAMLMark(line: 2, column: 4))
        #expect(entries[0].key.mark == YAMLMark(line: 1, column: 1))
    }

    @Test("Structure errors name their position and say what is wrong", arguments: [
        ("a: *nowhere\n", 1, 4, "invalid YAML: found undefined alias 'nowhere'"),
        // An alias to a collection still open is undefined: no cycles.
        ("a: &loop [*loop]\n", 1, 11, "invalid YAML: found undefined alias 'loop'"),
        ("a: 1\n---\nb: 2\n", 2, 1, "invalid YAML: the file holds more than one document; expected one"),
        ("a: 1\nb: 2\na: 3\n", 3, 1, "'a' appears more than once in this mapping (first at line 1, column 1)"),
        ("{a: 1, 'a': 2}\n", 1, 8, "'a' appears more than once in this mapping (first at line 1, column 2)"),
        ("[a, b, a]\n", 0, 0, ""),  // a list may repeat
    ])
    func structureErrors(text: String, line: Int, column: Int, message: String) {
        let error = failure(text)
        if message.isEmpty {
            #expect(error == nil)
        } else {
            #expect(error == YAMLError(position: .mark(YAMLMark(line: line, column: column)), message: message))
        }
    }

    @Test("Nesting is bounded at 1000 levels, without recursion, also in a 1 MiB file")
    func nesting() {
        let deepest = String(repeating: "[", count: YAMLComposer.maximumDepth) + String(repeating: "]", count: YAMLComposer.maximumDepth)
        #expect(failure(deepest) == nil)
        let tooDeep = "a:\n  " + String(repeating: "[", count: YAMLComposer.maximumDepth)
        #expect(failure(tooDeep)?.message.contains("more than 1000 levels") == true)
        #expect(failure(tooDeep)?.position == .mark(YAMLMark(line: 1, column: 1)))
        #expect(failure(String(repeating: "{a: ", count: 1 << 18))?.message.contains("more than 1000 levels") == true)
    }

    @Test("A reader error is at a byte offset into the text")
    func readerErrors() {
        #expect(failure("a: \u{7}\n") == YAMLError(position: .byteOffset(3), message: "cannot read the file: control characters are not allowed"))
    }
}

@Suite("YAML 1.1 scalar patterns: the hand-written matchers against the patterns as regular expressions")
struct PlainScalarSyntaxTests {
    // The patterns of https://yaml.org/type/int.html, float.html and timestamp.html (as PyYAML writes them).
    let int = #/[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+/#
    let float = #/[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)/#
    let timestamp = #/[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?/#

    @Test("200,000 random texts over the patterns' alphabet: the matchers agree with the regular expressions")
    func agreement() throws {
        var random = SeededRandom(seed: 0x59414D4C)
        let alphabet = Array("0123456789+-_.:eEoxbTtZ ainfIFNA-".utf8)
        let templates = ["2001-12-14", "2001-12-14 21:59:43.10 -5", "1:59:30.5", "0x1F", ".inf", "1.5e+3"]
        var disagreements: [String] = []
        for round in 0..<200_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 1...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            } else {
                // A real shape with one byte changed, inserted or dropped.
                bytes = Array(templates.randomElement(using: &random)!.utf8)
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
                default: bytes.remove(at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let pairs = [
                ("int", PlainScalarSyntax.isInt(bytes), try int.wholeMatch(in: text) != nil),
                ("float", PlainScalarSyntax.isFloat(bytes), try float.wholeMatch(in: text) != nil),
                ("timestamp", PlainScalarSyntax.isTimestamp(bytes), try timestamp.wholeMatch(in: text) != nil),
            ]
            for (name, matcher, pattern) in pairs where matcher != pattern && disagreements.count < 10 {
                disagreements.append("\(name) \(text.debugDescription): matcher \(matcher), pattern \(pattern)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
    }
}
