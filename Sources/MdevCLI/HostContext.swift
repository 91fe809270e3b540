import Foundation
import MdevModel
import MdevSysfs

/// Everything a command needs about the host, loaded once from the options: config, labels, node name,
/// host key, and the real sysfs behind its protocols.
struct HostContext {
    var config: ReconcilerConfig
    var labels: HostLabels
    var nodeName: String
    var hostKey: HostKey
    var host: SysfsHost

    var wanted: WantedTypes { WantedTypes.select(from: config.mediatedDevices, labels: labels) }

    /// Loads config and labels, printing warnings to `diagnostics`.
    static func load(host options: HostOptions, configFile: String, diagnostics: Diagnostics) throws -> HostContext {
        let nodeName = options.resolvedNodeName
        let loaded = try options.configFiles(configFile: configFile).load()
        for warning in loaded.warnings { diagnostics.print(warning) }
        let (hostKey, warning) = HostIdentity.hostKey(machineIDFile: options.resolvedMachineIDFile, nodeName: nodeName)
        if let warning { diagnostics.warning(warning) }
        let reader = SysfsInventoryReader(
            sysfsRoot: options.resolvedSysfsRoot, holderScanner: VFIOHolderScanner(procRoot: options.resolvedProcRoot))
        return HostContext(config: loaded.config, labels: loaded.labels, nodeName: nodeName, hostKey: hostKey, host: SysfsHost(reader: reader))
    }

    /// The plan for `inventory` under this context.
    func plan(_ inventory: Inventory) -> Plan {
        Planner.plan(PlanningInput(inventory: inventory, wanted: wanted, hostKey: hostKey, settings: config.settings, nodeName: nodeName))
    }
}
