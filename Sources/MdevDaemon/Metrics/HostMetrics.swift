import FoundationEssentials
import MdevModel

/// Everything the metrics file says (README, "Metrics"): the host as the last pass left it, the config in
/// force, and the counters since the daemon started.
public struct HostMetrics: Sendable {
    /// The program's version, for `mdev_reconciler_build_info`.
    public var version: String
    /// Whether the daemon runs (nil for `apply`, which is not a daemon): 0 in the file it leaves when it stops.
    public var running: Bool?
    /// The host's devices as last read.
    public var devices: [HostDevice] = []
    /// The plan for the host as last read; nil before the first pass.
    public var plan: Plan?
    public var configGeneration = 1
    /// The last config read was rejected (the previous one stays in force).
    public var configLoadFailed = false
    /// The config in force, or the last one read, is held as a likely typo (``HeldTypes``).
    public var configHeld = false
    /// The last pass could not read the host at all.
    public var hostReadFailed = false
    /// Parents whose writes have not returned in time.
    public var stuck: Set<String> = []
    /// GPUs the last pass could not make ready for their type (MIG mode, GPU instances).
    public var unprepared: Set<String> = []
    public var counters: PassCounters

    public init(version: String, running: Bool?, counters: PassCounters) {
        self.version = version
        self.running = running
        self.counters = counters
    }

    /// The metrics of a host as last read (`inventory`, its devices' owners told by `hostKey`) and its plan.
    public init(version: String, running: Bool?, counters: PassCounters, inventory: Inventory, hostKey: HostKey, plan: Plan?) {
        self.init(version: version, running: running, counters: counters)
        devices = HostDevice.list(inventory, hostKey: hostKey)
        self.plan = plan
    }

    /// The file's text.
    public var text: String {
        var text = MetricsText()
        text.family("mdev_reconciler_build_info", .gauge, help: "Always 1; the version of mdev-reconciler that wrote this file.",
                    [.init([("version", version)], 1)])
        if let running {
            text.family("mdev_reconciler_daemon_running", .gauge, help: "1 while the daemon runs, 0 in the file it leaves when it stops.",
                        [.init(running ? 1 : 0)])
        }
        text.family("mdev_reconciler_devices", .gauge,
                    help: "Devices by parent, card, type, owner (ours: created by mdev-reconciler; foreign) and whether a process holds them.",
                    deviceSamples)
        text.family("mdev_reconciler_wanted_devices", .gauge, help: "Devices the plan wants on each parent, of its target type.",
                    (plan?.parents ?? []).compactMap { parent in
                        parent.type.map { .init([("parent", parent.parent), ("card", parent.card), ("type", $0)], parent.keep.count + parent.create.count) }
                    })
        text.family("mdev_reconciler_free_devices", .gauge, help: "Devices no process holds, by type: what can be given to a VM now.",
                    freeSamples)
        text.family("mdev_reconciler_blocked_parents", .gauge,
                    help: "Parents that cannot reach their target, by reason (in_use, foreign, read_problem); a parent counts once per reason.",
                    blockedSamples)
        text.family("mdev_reconciler_stuck_parents", .gauge, help: "Parents whose writes have not returned within the write deadline.",
                    [.init(stuck.count)])
        text.family("mdev_reconciler_unprepared_gpus", .gauge,
                    help: "GPUs that could not be made ready for their MIG-backed type (MIG mode, GPU instances); status says why.",
                    [.init(unprepared.count)])
        text.family("mdev_reconciler_unserved_cards", .gauge,
                    help: "Cards a wanted type lacks in the kept layout against the balanced one (mdev-reconciler rebalance restores it).",
                    (plan?.unserved ?? []).map { .init([("type", $0.type)], $0.wantedCards - $0.servedCards) })
        text.family("mdev_reconciler_write_failures_total", .counter, help: "Sysfs writes that failed, by parent and errno.",
                    counters.writeFailures.sorted { $0.key < $1.key }.map { .init([("parent", $0.key.parent), ("errno", $0.key.errno)], $0.value) })
        text.family("mdev_reconciler_passes_total", .counter,
                    help: "Reconcile passes by what asked for them (start, event, reload, config_change, backoff; apply).",
                    counters.triggers.map { .init([("trigger", $0.rawValue)], counters.passes[$0] ?? 0) })
        text.histogram("mdev_reconciler_pass_duration_seconds", help: "How long reconcile passes took.", counters.duration)
        text.family("mdev_reconciler_last_converged_timestamp_seconds", .gauge,
                    help: "When the last pass that left the host matching its plan ended (Unix time); absent until one did.",
                    counters.lastConverged.map { [.init($0.timeIntervalSince1970.rounded(.down))] } ?? [])
        text.family("mdev_reconciler_config_generation", .gauge, help: "Raised each time a changed config is put in force.",
                    [.init(configGeneration)])
        text.family("mdev_reconciler_config_load_failed", .gauge, help: "1 when the last config read was rejected; the previous config stays in force.",
                    [.init(configLoadFailed ? 1 : 0)])
        text.family("mdev_reconciler_config_held", .gauge,
                    help: "1 when a config naming only types no card has is held as a likely typo; devices are kept.", [.init(configHeld ? 1 : 0)])
        text.family("mdev_reconciler_host_read_failed", .gauge, help: "1 when the last pass could not read sysfs or procfs at all.",
                    [.init(hostReadFailed ? 1 : 0)])
        return text.text
    }

    private var deviceSamples: [MetricsText.Sample] {
        struct Key: Hashable, Comparable {
            var parent, card, type, owner, inUse: String
            static func < (a: Key, b: Key) -> Bool { (a.parent, a.type, a.owner, a.inUse) < (b.parent, b.type, b.owner, b.inUse) }
        }
        let counts = Dictionary(grouping: devices) {
            Key(parent: $0.parent, card: $0.card, type: $0.type, owner: $0.isOurs ? "ours" : "foreign", inUse: $0.isInUse ? "true" : "false")
        }
        return counts.sorted { $0.key < $1.key }.map { key, devices in
            .init([("parent", key.parent), ("card", key.card), ("type", key.type), ("owner", key.owner), ("in_use", key.inUse)], devices.count)
        }
    }

    private var freeSamples: [MetricsText.Sample] {
        let free = Dictionary(grouping: devices.filter { !$0.isInUse }, by: \.type)
        return free.sorted { $0.key < $1.key }.map { type, devices in
            .init([("type", type), ("type_name", devices.first?.typeName ?? "")], devices.count)
        }
    }

    private var blockedSamples: [MetricsText.Sample] {
        let parents = plan?.parents ?? []
        let reasons: [(String, (ParentPlan) -> Bool)] = [
            ("in_use", { $0.blockers.contains { $0.kind == .inUse } }),
            ("foreign", { $0.blockers.contains { $0.kind == .foreign } }),
            ("read_problem", { $0.readProblem != nil }),
        ]
        return reasons.map { reason, applies in .init([("reason", reason)], parents.filter(applies).count) }
    }
}
