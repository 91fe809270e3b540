/// A sysfs or procfs file that was read but whose text is not what the kernel writes there: its own kind of
/// error, naming the file and the text, not an errno.
public struct SysfsValueError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var text: String
    /// What the file should hold (`a count`, `a type number`).
    public var expected: String

    public init(path: String, text: String, expected: String) {
        self.path = path
        self.text = text
        self.expected = expected
    }

    /// How much of the text is quoted: a number the kernel writes is shorter; whatever else the file holds
    /// is not this program's to repeat.
    public static let excerptLimit = 24

    public var description: String {
        "\(path) reads \(text.trimmingSpaces().quoted(upTo: Self.excerptLimit)), not \(expected)"
    }
}
