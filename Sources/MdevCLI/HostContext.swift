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

    /// Loads config and labels, printing warnings to `diagnostics`.
    static func load(host options: HostOptions, configFile: String, diagnostics: Diagnostics, recording: Bool) throws -> HostContext {
        let nodeName = options.resolvedNodeName
        let loaded = try options.configFiles(configFile: configFile).load()
        for warning in loaded.warnings { diagnostics.print(warning) }
        let (hostKey, warning) = HostIdentity.hostKey(machineIDFile: options.environment.machineIDFile, nodeName: nodeName)
        if let warning { diagnostics.warning(warning) }
        return HostContext(loaded: loaded, nodeName: nodeName, hostKey: hostKey, host: options.makeHost(recording: recording))
    }

    /// The plan for `inventory` under this context.
    func plan(_ inventory: Inventory) -> Plan {
        Planner.plan(PlanningInput(
            inventory: inventory, wanted: loaded.wanted, hostKey: hostKey, settings: loaded.config.settings, nodeName: nodeName))
    }
}
