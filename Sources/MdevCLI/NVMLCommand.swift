import ArgumentParser
import MdevModel
import MdevSysfs

/// `nvml`: what NVIDIA's management library says about the GPUs, changing nothing.
struct NVMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvml", _superCommandName: MdevReconcilerCommand.name,
        abstract: "Show what NVIDIA's NVML library reports: driver, GPUs, host vGPU mode, MIG mode and profiles, vGPU types.",
        discussion: """
            Read only: nothing is changed. Needs libnvidia-ml.so.1, which NVIDIA's driver installs; without it \
            the command says so and exits 1, and every other command works as without NVML.

            Examples:
              mdev-reconciler nvml
              mdev-reconciler nvml --format json
            """)

    @Option(help: "Output format.") var format: OutputFormat = .text

    func run() throws {
        try reportingErrors {
            let library = try NVMLLibrary.open(path: NVMLLibrary.configuredPath)
            let report = try NVMLProbe.report(library)
            print(try NVMLReportRenderer.render(report, format: format))
        }
    }
}
