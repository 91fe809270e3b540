/// Chooses one wanted type per card, following KubeVirt's rules but deterministically.
///
/// 1. The fresh-host layout (``ringLayout(cards:types:)``): cards in name order; a ring over the wanted
///    types in list order; at each step the current type takes the first unassigned card that supports it;
///    a type with no such card leaves the ring.
/// 2. With existing devices, each model (cards with the same supported types) still gets exactly the
///    fresh layout's number of cards per type, so the layout is restored after any change. Among such
///    layouts, the one chosen keeps the most devices that cannot be removed (in use, or foreign), then the
///    most devices overall, then the most cards on their fresh-layout type. Cards that keep nothing take
///    their fresh-layout type while it has room, then the types left over in list order.
/// 3. Pinned cards (a remembered layout) keep their type; the rest of their model get step 2 over what the
///    pinned cards leave of the model's fresh counts, so hardware that appears only adds.
enum CardTypeAssignment {
    /// How much a card wants to keep a type: what it would keep in place by getting it.
    struct Keep {
        /// Devices of the type that could not be removed anyway.
        var immovable = 0
        /// All devices of the type.
        var devices = 0
    }

    /// The target type reference of each card, in the order of `cards`.
    /// - Parameters:
    ///   - pinned: cards whose type stays whatever the balance says, by index (a type the card supports).
    ///     The other cards of a model share out what the fresh layout gives the model beyond the pinned
    ///     cards' types, in ring order.
    ///   - keep: what card `index` keeps if given `type`.
    static func assign(
        cards: [Card], types: [String], pinned: [Int: String] = [:], keep: (_ index: Int, _ type: String) -> Keep
    ) -> [String?] {
        let fresh = ringLayout(cards: cards, types: types)
        var result = fresh
        let models = Dictionary(grouping: cards.indices, by: { cards[$0].modelKey })
        for members in models.values {
            // The fresh layout's types of the model, in card order: the order the ring handed them out.
            let freshTypes = members.compactMap { fresh[$0] }
            guard freshTypes.count == members.count else { continue }  // A model that supports no wanted type.
            var covered = members.compactMap { pinned[$0] }
            for card in members where pinned[card] != nil { result[card] = pinned[card] }
            let free = members.filter { pinned[$0] == nil }
            // What the pinned cards do not cover yet; there are at least as many such types as free cards.
            var slots: [String] = []
            for type in freshTypes {
                if let index = covered.firstIndex(of: type) { covered.remove(at: index) } else { slots.append(type) }
            }
            slots = Array(slots.prefix(free.count))
            guard !free.isEmpty else { continue }
            let totalDevices = free.reduce(0) { sum, card in sum + cards[card].parents.reduce(0) { $0 + $1.devices.count } }
            // Lexicographic weights: immovable devices ≫ devices ≫ staying on the fresh type.
            let perDevice = free.count + 1
            let perImmovable = (totalDevices + 1) * perDevice
            let weights = free.map { card in
                slots.map { type in
                    let k = keep(card, type)
                    return k.immovable * perImmovable + k.devices * perDevice + (fresh[card] == type ? 1 : 0)
                }
            }
            let columns = MaximumWeightAssignment.solve(weights)
            for (row, card) in free.enumerated() { result[card] = slots[columns[row]] }
            redistribute(members: free, fresh: fresh, types: types, result: &result) { keep($0, $1).devices == 0 }
        }
        return result
    }

    /// Step 1: the layout of a host without devices.
    static func ringLayout(cards: [Card], types: [String]) -> [String?] {
        var result = [String?](repeating: nil, count: cards.count)
        var ring = types.uniqued()
        var unassigned = Array(cards.indices)
        var position = 0
        while !ring.isEmpty && !unassigned.isEmpty {
            position %= ring.count
            let type = ring[position]
            if let found = unassigned.firstIndex(where: { cards[$0].supports(type) }) {
                result[unassigned.remove(at: found)] = type
                position += 1
            } else {
                ring.remove(at: position)
            }
        }
        return result
    }

    /// Cards that keep nothing share out the types they were given: first each takes its fresh-layout type
    /// while that type has room, then the rest take the remaining types in list order, in card order.
    private static func redistribute(
        members: [Int], fresh: [String?], types: [String], result: inout [String?],
        keepsNothing: (Int, String) -> Bool
    ) {
        let idle = members.filter { card in result[card].map { keepsNothing(card, $0) } ?? false }
        var pool = idle.compactMap { result[$0] }
        var waiting: [Int] = []
        for card in idle.sorted() {
            if let type = fresh[card], let index = pool.firstIndex(of: type) {
                result[card] = pool.remove(at: index)
            } else {
                waiting.append(card)
            }
        }
        pool.sort { types.firstIndex(of: $0)! < types.firstIndex(of: $1)! }
        for (card, type) in zip(waiting, pool) { result[card] = type }
    }
}
