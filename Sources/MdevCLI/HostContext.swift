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
        let config = try loadConfig(configFile, diagnostics: diagnostics)
        let nodeName = (options.nodeName ?? HostIdentity.systemNodeName()).lowercased()
        let labels = try loadLabels(options, nodeName: nodeName)
        let (hostKey, warning) = HostIdentity.hostKey(machineIDFile: options.resolvedMachineIDFile, nodeName: nodeName)
        if let warning { diagnostics.warning(warning) }
        let reader = SysfsInventoryReader(
            sysfsRoot: options.resolvedSysfsRoot, holderScanner: VFIOHolderScanner(procRoot: options.resolvedProcRoot))
        return HostContext(config: config, labels: labels, nodeName: nodeName, hostKey: hostKey, host: SysfsHost(reader: reader))
    }

    static func loadConfig(_ file: String, diagnostics: Diagnostics) throws -> ReconcilerConfig {
        let result = try ConfigParser.parse(try readInput(file, what: "config file"), file: file)
        for warning in result.warnings { diagnostics.print(warning.description) }
        return result.config
    }

    /// Built-in labels plus the labels file: the default one only if it exists, a given one always.
    static func loadLabels(_ options: HostOptions, nodeName: String) throws -> HostLabels {
        let builtIn = HostLabels.builtIn(nodeName: nodeName)
        let file = options.labels ?? options.defaultLabelsFile
        if options.labels == nil && !FileManager.default.fileExists(atPath: file) { return builtIn }
        return builtIn.overridden(by: try LabelsFileParser.parse(try readInput(file, what: "labels file"), file: file))
    }

    /// The plan for `inventory` under this context.
    func plan(_ inventory: Inventory) -> Plan {
        Planner.plan(PlanningInput(inventory: inventory, wanted: wanted, hostKey: hostKey, settings: config.settings, nodeName: nodeName))
    }
}

/// A file that could not be read, with the reason.
struct InputFileError: Error, CustomStringConvertible {
    var description: String
}

/// The content of a text input file; errors name the file and the reason.
func readInput(_ path: String, what: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
        throw InputFileError(description: "\(what) \(path) \(reason)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw InputFileError(description: "\(what) \(path) is not UTF-8 text")
    }
    return text
}
