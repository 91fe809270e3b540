import ArgumentParser
import MdevSysfs

/// `types`: every parent with its types and devices.
struct TypesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types", _superCommandName: MdevReconcilerCommand.name, abstract: "List every parent with its types, free instances, descriptions and devices.",
        discussion: """
            The names and ids listed are what mediatedDeviceTypes takes.

            Examples:
              mdev-reconciler types
              mdev-reconciler types --format json
            """)

    @OptionGroup var host: HostOptions
    @Option(help: "Output format.") var format: OutputFormat = .text

    func run() throws {
        try reportingErrors {
            let reading = try host.makeHost(recording: false).readInventory()
            for warning in reading.warnings { Diagnostics().warning(warning) }
            print(try TypesReport(reading.inventory).render(format: format))
        }
    }
}
