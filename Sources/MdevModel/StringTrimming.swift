extension StringProtocol {
    /// The string without leading and trailing whitespace and newlines (Unicode's White_Space).
    public func trimmingSpaces() -> String {
        // ASCII first: the Unicode property lookup is the slow path (sysfs values are ASCII).
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII ? scalar == " " || ("\t"..."\r").contains(scalar) : scalar.properties.isWhitespace
        }
        // A substring's scalars share the string's storage: the result is one copy of the kept bytes.
        let scalars = Substring(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[first...last])
    }

    /// The string with every space character replaced by `replacement`.
    func replacingSpaces(with replacement: Character) -> String {
        String(map { $0 == " " ? replacement : $0 })
    }
}
