import MdevModel

/// Whether `location` lies inside `text`: a line that exists and a column at most one past its end.
/// Lines end as YAML ends them (LF, CR, CRLF, NEL, LS, PS); columns count Unicode scalars, as libyaml does.
/// - Parameter yamlLines: lines end as in YAML; otherwise at LF alone (the labels file).
func isInside(_ location: SourceLocation, of text: String, yamlLines: Bool = true) -> Bool {
    var lengths: [Int] = [0]
    var previous: Unicode.Scalar?
    let breaks: Set<Unicode.Scalar> = yamlLines ? ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"] : ["\n"]
    for scalar in text.unicodeScalars {
        if scalar == "\n" && previous == "\r" && yamlLines {
            // The LF of a CR LF.
        } else if breaks.contains(scalar) {
            lengths.append(0)
        } else {
            lengths[lengths.count - 1] += 1
        }
        previous = scalar
    }
    let longest = lengths.max() ?? 0
    // A position may name the line after the last newline, and libyaml may point one past a line's end.
    return (1...lengths.count + 1).contains(location.line) && (1...longest + 2).contains(location.column)
}

/// The checks every ``InputError`` must pass: inside the input, in the file given, one clean line.
func checkError(_ error: InputError, file: String, text: String, yamlLines: Bool = true) {
    invariant(error.location.file == file, "error names file \(error.location.file), not \(file)")
    invariant(isInside(error.location, of: text, yamlLines: yamlLines), "error at \(error.location) is outside the input")
    invariant(isOneCleanLine(error.description), "error is not one clean line: \(error.description.debugDescription)")
    // Compared by code unit: a field may begin with a combining mark, which joins the space before it.
    invariant(error.description.utf8.starts(with: "\(file):\(error.location.line):\(error.location.column): ".utf8), "error does not start with FILE:LINE:COLUMN: \(error.description.debugDescription)")
}
