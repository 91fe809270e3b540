import MdevSysfs
import ArgumentParser
import MdevModel

/// `validate`: checks the config and labels files and says which types this host would want.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", _superCommandName: MdevReconcilerCommand.name, abstract: "Check the config (and labels) file; print the types this host would want.",
        discussion: """
            Errors name FILE:LINE:COLUMN and the field; exits 1 on the first one.

            Examples:
              mdev-reconciler validate
              mdev-reconciler validate --config new-config.yaml --node-name node01 --labels labels
              mdev-reconciler validate --config - < new-config.yaml
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions

    func run() throws {
        try reportingErrors {
            let diagnostics = Diagnostics()
            let file = configOptions.config ?? host.environment.configFile
            let loaded = try host.configFiles(configFile: file).load()
            for warning in loaded.warnings { diagnostics.print(warning) }
            print("\(ConfigFiles.displayName(file)): valid")
            print("node \(host.resolvedNodeName): \(PlanRenderer.describe(loaded.wanted))")
        }
    }
}
