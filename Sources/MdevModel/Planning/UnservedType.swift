/// A wanted type the kept layout gives fewer cards than a fresh host would get, because a card went away
/// (or no layout was known and the cards kept what they hold). A rebalance would serve it.
public struct UnservedType: Sendable, Hashable, MessageCarrying {
    /// The type reference, as the wanted list names it.
    public var type: String
    /// Cards the balanced layout gives it.
    public var wantedCards: Int
    /// Cards that have it now.
    public var servedCards: Int
    /// Remembered cards of this type that are not there.
    public var goneCards: [String]

    public init(type: String, wantedCards: Int, servedCards: Int, goneCards: [String]) {
        self.type = type
        self.wantedCards = wantedCards
        self.servedCards = servedCards
        self.goneCards = goneCards
    }

    /// `nvidia-228: wanted, no card since 0000:5e:00.0 went away`.
    public var message: String {
        let since = goneCards.isEmpty
            ? " while the layout is kept" : " since \(goneCards.joined(separator: ", ")) went away"
        let served = servedCards == 0 ? "no card" : "\(servedCards) of \(wantedCards) cards"
        return "\(type): wanted, \(served)\(since)"
    }
}

/// What a rebalance would change on one card: its type, and the idle devices of ours that go with it.
public struct CardMove: Sendable, Hashable, MessageCarrying {
    public var card: String
    /// The type reference the card has in the kept layout.
    public var from: String
    public var to: String
    /// Devices the rebalanced plan removes from the card (idle, and ours unless foreign devices may go).
    public var removing: Int

    public init(card: String, from: String, to: String, removing: Int) {
        self.card = card
        self.from = from
        self.to = to
        self.removing = removing
    }

    /// `rebalance would move 0000:86:00.0 nvidia-222 → nvidia-228, removing 16 idle devices`.
    public var message: String {
        let devices = removing == 1 ? "1 idle device" : "\(removing) idle devices"
        return "rebalance would move \(card) \(from) → \(to), removing \(devices)"
    }
}
