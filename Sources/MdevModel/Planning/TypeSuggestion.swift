/// For a wanted type no card has: the host's type it most likely means, by id or by name.
public enum TypeSuggestion {
    /// The message for `reference` on `inventory`, or nil when some card has the type.
    /// (`nvidia-22: no card on this host has it; did you mean nvidia-222 (GRID T4-1B)?`)
    public static func warning(for reference: String, on inventory: Inventory) -> String? {
        guard !inventory.parents.contains(where: { $0.type(matching: reference) != nil }) else { return nil }
        let base = "\(reference): no card on this host has it"
        guard let suggestion = closest(to: reference, among: inventory) else { return base }
        return base + "; did you mean \(suggestion)?"
    }

    /// The closest id or config name (case aside, then by edit distance), if it is close enough to be a slip:
    /// at most a third of the reference's length away, and at least one edit allowed.
    static func closest(to reference: String, among inventory: Inventory) -> String? {
        var best: (distance: Int, text: String)?
        let wanted = Array(reference.lowercased().unicodeScalars)
        for type in inventory.parents.flatMap(\.types).sorted(by: { $0.id < $1.id }) {
            let name = type.name.map { " (\($0))" } ?? ""
            var candidates = [(type.id, type.id + name)]
            if let configName = type.configName { candidates.append((configName, "\(configName) (\(type.id))")) }
            for (candidate, text) in candidates {
                let distance = editDistance(wanted, Array(candidate.lowercased().unicodeScalars))
                if distance < (best?.distance ?? Int.max) { best = (distance, text) }
            }
        }
        guard let best, best.distance <= max(1, wanted.count / 3) else { return nil }
        return best.text
    }

    /// Levenshtein distance: insertions, deletions and substitutions.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
