import Foundation

extension StringProtocol {
    /// The string without leading and trailing whitespace and newlines.
    public func trimmingSpaces() -> String {
        trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The string with every space character replaced by `replacement`.
    func replacingSpaces(with replacement: Character) -> String {
        String(map { $0 == " " ? replacement : $0 })
    }
}
