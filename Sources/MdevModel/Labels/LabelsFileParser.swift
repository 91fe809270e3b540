/// Parses a labels file: one `key=value` per line, `#` comments and blank lines ignored.
public enum LabelsFileParser {
    /// The labels in `text`, in file order. Lines end with LF or CRLF.
    /// - Parameter file: the name used in error messages.
    /// - Throws: ``InputError`` naming the first bad line and column; a key given twice is an error at its
    ///   second line, as a duplicate key of the config file is.
    public static func parse(_ text: String, file: String) throws(InputError) -> [Label] {
        var labels: [Label] = []
        var firstLine: [String: Int] = [:]
        for (index, line) in text.textLines().enumerated() {
            let lineNumber = index + 1
            let content = line.trimmingSpaces()
            if content.isEmpty || content.hasPrefix("#") { continue }
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            func error(column: Int, field: String, _ message: String) -> InputError {
                InputError(SourceLocation(file: file, line: lineNumber, column: indent + column), field: field, message)
            }
            guard let equals = content.firstIndex(of: "=") else {
                throw error(column: 1, field: "", "expected 'key=value', found \(content.quoted)")
            }
            let key = String(content[..<equals]).trimmingSpaces()
            let value = String(content[content.index(after: equals)...]).trimmingSpaces()
            if let problem = LabelSyntax.problem(withKey: key) {
                throw error(column: 1, field: key, problem)
            }
            if let problem = LabelSyntax.problem(withValue: value) {
                let column = content.distance(from: content.startIndex, to: equals) + 2
                throw error(column: column, field: key, problem)
            }
            if let first = firstLine[key] {
                throw error(column: 1, field: key, "the key appears more than once (first at line \(first))")
            }
            firstLine[key] = lineNumber
            labels.append(Label(key: key, value: value))
        }
        return labels
    }
}
