/// The layout of the last pass that converged, and the wanted list it was made for (by digest): what keeps
/// a card's type while the hardware changes. The daemon and `apply` keep it in the state directory.
///
/// While the wanted list's digest is the one recorded, cards keep their types: a card holding devices of
/// ours keeps the type it holds, an empty card named here (back after going away) gets its type back, and only
/// the other cards take the types that restore the per-model counts. A changed list, or a rebalance asked
/// for, plans the balanced layout afresh.
public struct RememberedLayout: Sendable, Hashable, Codable {
    public var version = 1
    /// ``digest(of:)`` of the wanted list the layout was made for.
    public var wantedDigest: String
    /// Each card's type reference (as the wanted list names it), cards that went away included.
    public var cards: [String: String]

    public init(wantedDigest: String, cards: [String: String]) {
        self.wantedDigest = wantedDigest
        self.cards = cards
    }

    /// The digest of a wanted list: SHA-256 over its references in order, one per line, in hex. Where the
    /// list came from (global list or node entries) does not count: the same types are the same wish.
    public static func digest(of wanted: WantedTypes) -> String {
        let text = wanted.isManaging ? wanted.types.map { $0 + "\n" }.joined() : "disabled\n"
        return SHA256.hexDigest(Array(text.utf8))
    }
}
