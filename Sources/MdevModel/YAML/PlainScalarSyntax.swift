/// YAML 1.1's patterns for numbers and timestamps (https://yaml.org/type/int.html, float.html,
/// timestamp.html), matched on the whole text by hand: a regular expression engine costs more at start-up
/// than the whole config takes to read.
enum PlainScalarSyntax {
    /// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
    static func isInt(_ text: [UInt8]) -> Bool {
        var start = Cursor(text)
        _ = start.take(isSign)
        func whole(_ rule: (inout Cursor) -> Bool) -> Bool {
            var cursor = start
            return rule(&cursor) && cursor.atEnd
        }
        return whole { $0.take("0b") && $0.takeSome(isBinary) }
            || whole { $0.take("0") && ($0.take("o") || true) && $0.takeSome(isOctal) }
            || whole { $0.take("0") }
            || whole { $0.take(isNonZeroDigit) && $0.takeMany(isDigitOrUnderscore) >= 0 }
            || whole { $0.take("0x") && $0.takeSome(isHexOrUnderscore) }
            || whole { $0.take(isNonZeroDigit) && $0.takeMany(isDigitOrUnderscore) >= 0 && $0.takeSexagesimal() }
    }

    /// `[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)? |
    /// [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
    static func isFloat(_ text: [UInt8]) -> Bool {
        let unsigned = Cursor(text)
        var signed = unsigned
        _ = signed.take(isSign)
        func whole(from start: Cursor, _ rule: (inout Cursor) -> Bool) -> Bool {
            var cursor = start
            return rule(&cursor) && cursor.atEnd
        }
        return whole(from: signed) {
            guard $0.take(isDigit) else { return false }
            $0.takeMany(isDigitOrUnderscore)
            if $0.take(".") { $0.takeMany(isDigitOrUnderscore) }
            if $0.take({ $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                _ = $0.take(isSign)
                return $0.takeSome(isDigit)
            }
            return true
        }
            || whole(from: unsigned) {
                guard $0.take("."), $0.takeSome(isDigitOrUnderscore) else { return false }
                if $0.take({ $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                    return $0.take(isSign) && $0.takeSome(isDigit)
                }
                return true
            }
            || whole(from: signed) {
                guard $0.take(isDigit) else { return false }
                $0.takeMany(isDigitOrUnderscore)
                guard $0.takeSexagesimal(), $0.take(".") else { return false }
                $0.takeMany(isDigitOrUnderscore)
                return true
            }
            || whole(from: signed) { $0.take(".inf") || $0.take(".Inf") || $0.take(".INF") }
            || whole(from: unsigned) { $0.take(".nan") || $0.take(".NaN") || $0.take(".NAN") }
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2}`, or `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}
    /// (\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?`
    static func isTimestamp(_ text: [UInt8]) -> Bool {
        func space(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var date = Cursor(text)
        if date.takeDigits(4...4), date.take("-"), date.takeDigits(2...2), date.take("-"), date.takeDigits(2...2), date.atEnd {
            return true
        }
        var cursor = Cursor(text)
        guard cursor.takeDigits(4...4), cursor.take("-"), cursor.takeDigits(1...2), cursor.take("-"), cursor.takeDigits(1...2),
              cursor.take({ $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") }) || cursor.takeSome(space),
              cursor.takeDigits(1...2), cursor.take(":"), cursor.takeDigits(2...2), cursor.take(":"), cursor.takeDigits(2...2)
        else { return false }
        if cursor.take(".") { cursor.takeMany(isDigit) }
        if cursor.atEnd { return true }
        cursor.takeMany(space)
        if cursor.take("Z") { return cursor.atEnd }
        guard cursor.take(isSign), cursor.takeDigits(1...2) else { return false }
        if cursor.take(":") { guard cursor.takeDigits(2...2) else { return false } }
        return cursor.atEnd
    }

    private static func isSign(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") }
    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isNonZeroDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(byte) }
    private static func isDigitOrUnderscore(_ byte: UInt8) -> Bool { isDigit(byte) || byte == UInt8(ascii: "_") }
    private static func isBinary(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "0") || byte == UInt8(ascii: "1") || byte == UInt8(ascii: "_") }
    private static func isOctal(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) || byte == UInt8(ascii: "_") }
    private static func isHexOrUnderscore(_ byte: UInt8) -> Bool {
        isDigitOrUnderscore(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// A position in the text; each `take` consumes only when it matches.
    struct Cursor {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ matches: (UInt8) -> Bool) -> Bool {
            guard index < bytes.count, matches(bytes[index]) else { return false }
            index += 1
            return true
        }

        mutating func take(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            let matches = literal.withUTF8Buffer { [bytes, index] literal in literal.indices.allSatisfy { bytes[index + $0] == literal[$0] } }
            if matches { index += count }
            return matches
        }

        /// Consumes as many as match; how many did.
        @discardableResult
        mutating func takeMany(_ matches: (UInt8) -> Bool) -> Int {
            let start = index
            while take(matches) {}
            return index - start
        }

        /// Consumes one or more.
        mutating func takeSome(_ matches: (UInt8) -> Bool) -> Bool { takeMany(matches) > 0 }

        /// Consumes a number of digits in `counts`, greedily: every pattern here follows them with a non-digit.
        mutating func takeDigits(_ counts: ClosedRange<Int>) -> Bool {
            let start = index
            while index - start < counts.upperBound, take(PlainScalarSyntax.isDigit) {}
            return counts.contains(index - start)
        }

        /// `(:[0-5]?[0-9])+`: one or more groups of a colon and a base-60 digit pair.
        mutating func takeSexagesimal() -> Bool {
            var groups = 0
            while index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                var next = self
                next.index += 1
                let digits = next.takeMany(PlainScalarSyntax.isDigit)
                // One digit, or two whose first is 0-5; more cannot be followed by ':', '.' or the end.
                guard digits == 1 || (digits == 2 && bytes[next.index - 2] <= UInt8(ascii: "5")) else { return false }
                self = next
                groups += 1
            }
            return groups > 0
        }
    }
}
