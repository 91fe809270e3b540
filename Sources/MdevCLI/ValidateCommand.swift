import MdevSysfs
import ArgumentParser
import MdevModel

/// `validate`: checks the config and labels files and says which types this host would want.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", _superCommandName: MdevReconcilerCommand.name, abstract: "Check the config (and labels) file; print the types this host would want.",
        discussion: """
            Errors name FILE:LINE:COLUMN and the field; exits 1 on the first one. On a host with mdev parents, \
            each wanted type no card there has is a warning naming the closest real type.

            Examples:
              mdev-reconciler validate
              mdev-reconciler validate --config new-config.yaml --node-name node01 --labels labels
              mdev-reconciler validate --config - < new-config.yaml
            """)

    /// The most wanted types no card has that are named one by one, with a suggestion.
    static let suggestionLimit = 20

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
            // Against the host's cards, when it has any: a config checked elsewhere is not warned about.
            guard let inventory = try? host.makeHost(recording: false).readInventory().inventory, !inventory.parents.isEmpty else { return }
            // Each with a suggestion, up to a screenful; a list of thousands of unknown types gets a count.
            let unknown = loaded.wanted.types.filter { type in !inventory.parents.contains { $0.type(matching: type) != nil } }
            for type in unknown.prefix(Self.suggestionLimit) {
                guard let message = TypeSuggestion.warning(for: type, on: inventory) else { continue }
                diagnostics.print(loaded.typePositions[type].map { "\($0.warning(message))" } ?? "mdev-reconciler: warning: \(message)")
            }
            if unknown.count > Self.suggestionLimit {
                diagnostics.warning("\(unknown.count - Self.suggestionLimit) more wanted types no card on this host has")
            }
        }
    }
}
