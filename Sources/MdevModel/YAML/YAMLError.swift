/// Why a text is not one well-formed YAML document, and where.
struct YAMLError: Error, Sendable, Hashable {
    enum Position: Sendable, Hashable {
        case mark(YAMLMark)
        /// A byte offset into the UTF-8 text: libyaml's reader reports no line and column.
        case byteOffset(Int)
    }

    var position: Position
    /// The whole message: `invalid YAML: ` and the problem in libyaml's words (its context, `while parsing a
    /// flow sequence at line 2, column 24`, in parentheses), `cannot read the file: ` and the reader's
    /// problem, or the composer's own words (a key given twice).
    var message: String
}
