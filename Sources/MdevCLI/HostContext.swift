import FoundationEssentials
import MdevModel
import MdevSysfs

/// Everything a command needs about the host, loaded once from the options: config and labels, node name,
/// host key, and the real sysfs behind its protocols.
struct HostContext {
    var loaded: ConfigFiles.Loaded
    var nodeName: String
    var hostKey: HostKey
    var host: CombinedHost
    /// The layout record and the rebalance request of the state directory.
    var record: LayoutRecord
    /// The layout remembered when the command started.
    var remembered: RememberedLayout?
    /// Whether the balanced layout is planned: `--rebalance`, or a request `mdev-reconciler rebalance` left.
    var rebalance: Bool
    var allowRemovalOfAll = false

    /// Loads config, labels and the layout record, printing warnings to `diagnostics`.
    static func load(
        host options: HostOptions, configFile: String, diagnostics: Diagnostics, recording: Bool, rebalance: Bool = false
    ) throws -> HostContext {
        let nodeName = options.resolvedNodeName
        let loaded = try options.configFiles(configFile: configFile).load()
        for warning in loaded.warnings { diagnostics.print(warning) }
        let (hostKey, warning) = HostIdentity.hostKey(machineIDFile: options.environment.machineIDFile, nodeName: nodeName)
        if let warning { diagnostics.warning(warning) }
        let record = LayoutRecord(stateDirectory: options.environment.stateDirectory)
        let layout = record.load()
        if let problem = layout.problem { diagnostics.warning(problem) }
        let requested = record.isRebalanceRequested
        if requested && !rebalance { diagnostics.print("mdev-reconciler: a rebalance is requested (\(record.requestPath)): planning the balanced layout") }
        return HostContext(
            loaded: loaded, nodeName: nodeName, hostKey: hostKey, host: options.makeHost(recording: recording), record: record,
            remembered: layout.layout, rebalance: rebalance || requested)
    }

    /// The plan for `inventory` under this context.
    func plan(_ inventory: Inventory) -> Plan {
        Planner.plan(PlanningInput(
            inventory: inventory, wanted: loaded.wanted, hostKey: hostKey, settings: loaded.config.settings, nodeName: nodeName,
            remembered: remembered, rebalance: rebalance, allowRemovalOfAll: allowRemovalOfAll))
    }
}
