import MdevSysfs
import ArgumentParser
import MdevModel

/// `validate`: checks the config and labels files and says which types this host would want.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check the config (and labels) file; print the types this host would want.")

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions

    func run() throws {
        try reportingErrors {
            let diagnostics = Diagnostics()
            let file = configOptions.config ?? host.defaultConfigFile
            let config = try HostContext.loadConfig(file, diagnostics: diagnostics)
            let nodeName = (host.nodeName ?? HostIdentity.systemNodeName()).lowercased()
            let labels = try HostContext.loadLabels(host, nodeName: nodeName)
            let wanted = WantedTypes.select(from: config.mediatedDevices, labels: labels)
            print("\(file): valid")
            print("node \(nodeName): \(PlanRenderer.describe(wanted))")
        }
    }
}
