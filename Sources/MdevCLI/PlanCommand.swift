import ArgumentParser
import MdevModel

/// `plan`: what `apply` would do. Writes nothing anywhere.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what apply would change (a dry run: writes nothing).")

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions
    @Option(help: "Output format.") var format: OutputFormat = .text

    func run() throws {
        try reportingErrors {
            let diagnostics = Diagnostics()
            let context = try HostContext.load(
                host: host, configFile: configOptions.config ?? host.environment.configFile, diagnostics: diagnostics, recording: false)
            let reading = try context.host.readInventory()
            for warning in reading.warnings { diagnostics.warning(warning) }
            print(try PlanRenderer.render(context.plan(reading.inventory), format: format))
        }
    }
}
