/// The unit that gets one type: one or more parents that share a physical device.
///
/// For classic mdev parents a card is one parent. Backends whose physical GPU exposes several parents
/// (SR-IOV virtual functions) put them on one card, so the type is chosen per physical device.
struct Card {
    let name: String
    let parents: [Parent]
    /// Cards with the same supported type ids are the same model for balancing.
    let modelKey: [String]

    init(name: String, parents: [Parent]) {
        self.name = name
        self.parents = parents
        modelKey = Set(parents.flatMap(\.modelKey)).sorted()
    }

    /// Groups the inventory's parents into cards, sorted by card name.
    static func cards(of inventory: Inventory) -> [Card] {
        Dictionary(grouping: inventory.parents, by: \.card)
            .map { Card(name: $0.key, parents: $0.value) }
            .sorted { $0.name < $1.name }
    }

    func supports(_ reference: String) -> Bool {
        parents.contains { $0.type(matching: reference) != nil }
    }
}

extension Parent {
    /// The type a config entry names on this parent: by id first, then by name.
    public func type(matching reference: String) -> MdevType? {
        types.first { $0.id == reference } ?? types.first { $0.configName == reference }
    }
}
