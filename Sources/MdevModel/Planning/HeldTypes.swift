/// A wanted list none of whose types any card of the host has, while devices of ours exist: a likely typo,
/// so the plan changes nothing. An explicit empty list, `enabled: false`, or `apply --allow-removal-of-all`
/// is how devices are all removed on purpose.
public struct HeldTypes: Sendable, Hashable, MessageCarrying {
    /// The wanted types, none of which any card has.
    public var types: [String]

    public init(types: [String]) {
        self.types = types
    }

    public var message: String {
        "no card on this host has any wanted type (\(types.joined(separator: ", "))): a likely typo, so no device is removed; "
            + "an empty list, enabled: false or apply --allow-removal-of-all removes them"
    }
}
