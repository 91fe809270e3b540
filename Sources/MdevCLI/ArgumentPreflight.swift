import MdevModel

/// What people expect of a command line that the argument parser does not do, done before it parses:
/// a mistyped command gets a suggestion (`pln` → `plan`), `help bogus` is an error, and a negative number
/// after an option is its value (`--debounce -5`, so the option's own check can say what it must be).
enum ArgumentPreflight {
    /// A usage error, printed as one line; exit status 64, as the parser's own usage errors.
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    /// The arguments to parse, or why they cannot be.
    static func prepare(_ arguments: [String], commands: [String]) throws(UsageError) -> [String] {
        if let first = arguments.first, !first.hasPrefix("-") {
            if first == "help" {
                if arguments.count > 1, !arguments[1].hasPrefix("-"), !commands.contains(arguments[1]) {
                    throw UsageError(description: "no help for \(unknown(arguments[1], commands: commands))")
                }
            } else if !commands.contains(first) {
                throw UsageError(description: unknown(first, commands: commands))
            }
        }
        return joiningNegativeValues(arguments)
    }

    /// `--option -5` as `--option=-5`: the parser takes any word starting with `-` for an option.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--"), !argument.contains("="), index + 1 < arguments.count, isNegativeNumber(arguments[index + 1]) {
                result.append("\(argument)=\(arguments[index + 1])")
                index += 2
            } else {
                result.append(argument)
                index += 1
            }
        }
        return result
    }

    private static func isNegativeNumber(_ word: String) -> Bool {
        word.count > 1 && word.hasPrefix("-") && word.dropFirst().allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
    }

    private static func unknown(_ word: String, commands: [String]) -> String {
        let list = commands.joined(separator: ", ")
        if let suggestion = closest(to: word, in: commands) {
            return "unknown command \(word.quoted); did you mean \(suggestion.quoted)? (commands: \(list))"
        }
        return "unknown command \(word.quoted) (commands: \(list))"
    }

    /// The command `word` is most likely a typo of: within two edits, or the only one it begins.
    static func closest(to word: String, in commands: [String]) -> String? {
        let scored = commands.map { ($0, editDistance(Array(word.lowercased()), Array($0))) }.filter { $0.1 <= 2 }
        if let best = scored.min(by: { $0.1 < $1.1 }) { return best.0 }
        let prefixed = commands.filter { $0.hasPrefix(word.lowercased()) && !word.isEmpty }
        return prefixed.count == 1 ? prefixed[0] : nil
    }

    /// Levenshtein distance, with a swap of neighbours counting as one edit (`paln` → `plan`).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
