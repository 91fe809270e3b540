/// Lines of the line-based files this program reads (the labels file, `creatable_vgpu_types`).
extension StringProtocol {
    /// The lines of the text, split at each LF; a CR before the LF is dropped (a file written on Windows).
    ///
    /// Split by code unit, not by `Character`: Swift takes CR LF for one character, so splitting a CRLF
    /// file at the character `"\n"` finds no line break at all.
    public func textLines() -> [String] {
        let newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
        return utf8.split(separator: newline, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == carriageReturn ? line.dropLast() : line[...], as: UTF8.self)
        }
    }
}
