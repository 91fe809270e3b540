import MdevModel

/// A step that makes whole cards ready for the types the plan gives them, before any device is written:
/// NVIDIA's MIG mode and GPU instances for a MIG-backed vGPU type (``MIGCardPreparer``). The
/// ``ReconcileEngine`` runs it at the start of every round; the cards it changed are read again and planned
/// anew, so what it made (functions that now list the type) is used in the same pass.
public protocol CardPreparing: Sendable {
    /// Prepares the cards `plan` (made from `inventory`) gives a type that needs it, and takes back what this
    /// program made on cards whose plan no longer needs it. Blocks (it talks to the driver).
    func prepare(_ plan: Plan, inventory: Inventory) -> CardPreparation

    /// Prepares a card whose parents are about to be made (`sriov-manage -e` enabling a GPU's virtual
    /// functions), where what it is to get can be told before they exist: from `remembered` (the type the
    /// remembered layout gives the card, a config reference) when it is wanted, else from every wanted type
    /// (config references) the card supports. Blocks.
    func prepareBeforeParents(card: String, wanted: [String], remembered: String?) -> CardPreparation
}

extension CardPreparing {
    /// Nothing to do before a card's parents exist.
    public func prepareBeforeParents(card: String, wanted: [String], remembered: String?) -> CardPreparation { CardPreparation() }
}

/// What a ``CardPreparing`` step did and found.
public struct CardPreparation: Sendable, Hashable {
    /// One thing done to a card (journaled and printed).
    public struct Step: Sendable, Hashable, CustomStringConvertible {
        public var card: String
        public var description: String

        public init(card: String, _ description: String) {
            self.card = card
            self.description = description
        }
    }

    /// Cards whose state changed: their parents are read again.
    public var changed: Set<String> = []
    /// What was done, in order.
    public var done: [Step] = []
    /// What stands in the way of a card without failing it (another program's GPU instances taking room),
    /// one line each: reported like a reading's warnings.
    public var warnings: [String] = []
    /// Why a card could not be prepared, by card: it stays as it is, the pass does not count as converged, and
    /// the step is tried again at the next pass.
    public var problems: [String: String] = [:]

    public init(changed: Set<String> = [], done: [Step] = [], warnings: [String] = [], problems: [String: String] = [:]) {
        self.changed = changed
        self.done = done
        self.warnings = warnings
        self.problems = problems
    }
}
