import FoundationEssentials
import MdevModel

/// What the daemon knows after a pass, written to `/run/mdev-reconciler/status.json` for `status`.
public struct DaemonStatus: Sendable, Hashable, Codable {
    /// The format's version, raised on incompatible changes.
    public var version = 1
    public var pid: Int32
    /// When the pass that wrote it ended.
    public var updated: Date
    public var node: String
    public var configFile: String
    /// Raised each time a changed config is loaded.
    public var configGeneration: Int
    /// The ``InputDigest`` of the config and labels in force (absent in earlier versions' files).
    public var configDigest: String?
    /// The ``InputDigest`` of the config and labels last refused (rejected or held) while ``configError`` or
    /// ``held`` stands.
    public var refusedDigest: String?
    /// Why the last config read was rejected, while the previous one stays in force.
    public var configError: String?
    public var wanted: WantedTypes
    /// Why the last pass could not read the host (sysfs or /proc), if it could not.
    public var hostError: String?
    /// Passes run since start.
    public var passes: Int
    /// Why a config was held as a likely typo (it names only types no card has), devices kept.
    public var held: String?
    /// Wanted types the kept layout serves on fewer cards than a rebalance would (absent in earlier versions' files).
    public var unserved: [String]?
    /// What a rebalance would change (absent in earlier versions' files).
    public var rebalance: [String]?
    /// A rebalance is asked for and not done yet.
    public var rebalancing: Bool?
    /// GPUs the last pass could not make ready for their type (MIG mode, GPU instances), with why, by GPU
    /// (absent in earlier versions' files).
    public var unprepared: [String: String]?
    public var parents: [ParentStatus]

    public init(
        pid: Int32, updated: Date, node: String, configFile: String, configGeneration: Int, configDigest: String? = nil,
        refusedDigest: String? = nil, configError: String?,
        wanted: WantedTypes, hostError: String? = nil, passes: Int, held: String? = nil, unserved: [String] = [],
        rebalance: [String] = [], rebalancing: Bool = false, unprepared: [String: String] = [:], parents: [ParentStatus]
    ) {
        self.unprepared = unprepared
        self.held = held
        self.unserved = unserved
        self.rebalance = rebalance
        self.rebalancing = rebalancing
        self.pid = pid
        self.updated = updated
        self.node = node
        self.configFile = configFile
        self.configGeneration = configGeneration
        self.configDigest = configDigest
        self.refusedDigest = refusedDigest
        self.configError = configError
        self.wanted = wanted
        self.hostError = hostError
        self.passes = passes
        self.parents = parents
    }

    /// Each parent's entry by its name (a status file that lists one twice is refused when read; here the
    /// first entry wins).
    public var parentsByName: [String: ParentStatus] {
        Dictionary(parents.map { ($0.parent, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// One parent as the daemon last saw it.
    public struct ParentStatus: Sendable, Hashable, Codable {
        public var parent: String
        /// The physical GPU, when the parent is one of its SR-IOV virtual functions.
        public var card: String?
        public var model: String?
        /// The target type, or nil.
        public var type: String?
        public var devices: [PlannedDevice]
        /// Why the parent cannot reach its target now.
        public var blocked: [String]
        /// The last failure of a write on this parent, until a pass succeeds on it.
        public var lastError: String?
        /// The errno of that failure by name (`ENOSPC`), when the kernel gave one.
        public var errno: String?
        /// A write on this parent has not returned in time.
        public var stuck: Bool
        /// What the plan still wants to change.
        public var toCreate: Int
        public var toRemove: Int

        public init(
            parent: String, card: String? = nil, model: String?, type: String?, devices: [PlannedDevice], blocked: [String], lastError: String?,
            errno: String? = nil, stuck: Bool, toCreate: Int, toRemove: Int
        ) {
            self.errno = errno
            self.parent = parent
            self.card = card
            self.model = model
            self.type = type
            self.devices = devices
            self.blocked = blocked
            self.lastError = lastError
            self.stuck = stuck
            self.toCreate = toCreate
            self.toRemove = toRemove
        }
    }

    /// One line for `STATUS=` and people: parents, devices, blocked, last error.
    public var summary: String {
        let devices = parents.reduce(0) { $0 + $1.devices.count }
        let blocked = parents.filter { !$0.blocked.isEmpty }.count
        let lastError = hostError ?? configError ?? parents.compactMap(\.lastError).first ?? "none"
        return "\(parents.count) parents, \(devices) devices, \(blocked) blocked, last error: \(lastError)"
    }
}
