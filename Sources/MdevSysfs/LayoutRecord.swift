import MdevModel

/// The remembered layout (``RememberedLayout``) and a pending rebalance request, in the state directory
/// (`/var/lib/mdev-reconciler`, the unit's `StateDirectory=`):
/// - `layout.json`: the wanted list's digest and each card's type after the last pass that converged,
///   written atomically whenever it changes;
/// - `rebalance-requested`: written by `mdev-reconciler rebalance`; while it exists, the daemon, `apply` and
///   `plan` plan the balanced layout, and the pass that converges to it removes it.
///
/// A record that is lost or cannot be read means "no change known": cards that hold devices of ours keep
/// their type, and nothing is removed because of it.
public struct LayoutRecord: Sendable {
    public let layoutPath: String
    public let requestPath: String

    public init(stateDirectory: String) {
        layoutPath = stateDirectory.appending("layout.json")
        requestPath = stateDirectory.appending("rebalance-requested")
    }

    /// What the file holds: the layout (nil when there is none), and why it could not be read, if it could not.
    public struct Loaded: Sendable, Hashable {
        public var layout: RememberedLayout?
        public var problem: String?
    }

    public func load() -> Loaded {
        guard FileSystem.exists(layoutPath) else { return Loaded() }
        do {
            let layout = try JSONFile.read(RememberedLayout.self, from: layoutPath)
            guard layout.version == 1 else {
                return Loaded(problem: "the layout record \(layoutPath) has version \(layout.version), which this version does not know; "
                    + Self.noChangeKnown)
            }
            return Loaded(layout: layout)
        } catch {
            return Loaded(problem: "the layout record \(error); " + Self.noChangeKnown)
        }
    }

    static let noChangeKnown = "no change known, so cards that hold devices of ours keep their type and nothing is removed because of it"

    /// Saves `layout` atomically.
    public func save(_ layout: RememberedLayout) throws {
        try JSONFile.write(layout, to: layoutPath)
    }

    /// Whether a rebalance is asked for.
    public var isRebalanceRequested: Bool { FileSystem.exists(requestPath) }

    /// Asks for a rebalance (`mdev-reconciler rebalance`).
    public func requestRebalance() throws(SysfsError) {
        try FileSystem.writeAtomically(Array("rebalance requested by mdev-reconciler rebalance\n".utf8), to: requestPath)
    }

    /// Marks the request as carried out.
    public func clearRequest() throws(SysfsError) {
        try FileSystem.removeFile(requestPath)
    }
}
