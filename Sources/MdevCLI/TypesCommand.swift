import ArgumentParser
import MdevModel
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

            Where NVIDIA's NVML is there, an NVIDIA GPU in vendor-specific mode shows its modes as NVML states them, and its
            types NVML's names and capacities.
            """)

    @OptionGroup var host: HostRootOptions
    @Option(help: "Output format.") var format: OutputFormat = .text

    func run() throws {
        try reportingErrors {
            let reading = try host.makeHost(recording: false).readInventory()
            for warning in reading.warnings { Diagnostics().warning(warning) }
            print(try TypesReport(reading.inventory, nvml: Self.nvml(reading.inventory)).render(format: format))
        }
    }

    /// What NVML says of each card in vendor-specific mode; empty without the library (or without such a card).
    static func nvml(_ inventory: Inventory) -> [String: NVMLReport.GPU] {
        let cards = Set(inventory.parents.filter { $0.interface == .nvidiaVendorSpecific }.map(\.card))
        guard !cards.isEmpty, case .success(let library) = NVMLLibrary.shared() else { return [:] }
        var gpus: [String: NVMLReport.GPU] = [:]
        for card in cards { gpus[card] = NVMLProbe.gpu(atPCIAddress: card, library) }
        return gpus
    }
}
