import Testing

@testable import MdevModel

@Suite("Trimming spaces: ASCII and Unicode white space at both ends, nothing else")
struct StringTrimmingTests {
    @Test("Each case", arguments: [
        ("nvidia-222\n", "nvidia-222"), ("  GRID T4-1B \t\r\n", "GRID T4-1B"), ("", ""), (" \n\t ", ""),
        ("\u{00A0}\u{2003}x\u{3000}", "x"), ("e\u{301}", "e\u{301}"), (" \u{301}a ", "\u{301}a"), ("a b", "a b"),
        ("\u{0B}\u{0C}x\u{85}", "x"),
    ])
    func trims(text: String, trimmed: String) {
        #expect(text.trimmingSpaces() == trimmed)
        #expect(text[...].trimmingSpaces() == trimmed)
    }
}
