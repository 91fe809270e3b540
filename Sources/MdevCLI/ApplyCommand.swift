import ArgumentParser
import MdevModel
import MdevSysfs

/// `apply`: makes the host match the plan. Exit 0 only when it does.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", _superCommandName: MdevReconcilerCommand.name,
        abstract: "Create and remove devices until the host matches the plan.",
        discussion: """
            Removes before creating on the same parent, and re-reads available_instances right before creating. \
            Never removes a device a process holds, nor one it did not create unless \
            mdevReconciler.removeForeignDevices is set. Exits 2 with a per-parent summary when the host does not \
            match the plan afterwards.

            Examples:
              mdev-reconciler apply
              kubectl get kubevirt kubevirt -n kubevirt -o yaml \\
                  | mdev-reconciler apply --config -
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions
    @Option(help: "Output format of the resulting plan.") var format: OutputFormat = .text

    func run() async throws {
        var converged = true
        try await reportingErrors {
            let diagnostics = Diagnostics()
            let context = try HostContext.load(
                host: host, configFile: configOptions.config ?? host.environment.configFile, diagnostics: diagnostics, recording: true)
            if context.loaded.config.settings.enableVirtualFunctions {
                for outcome in host.makeEnabler().enable() { diagnostics.print("\(outcome)") }
            }
            let report = try await Applier(host: context.host) { [context] in context.plan($0) }.apply()
            // The same warnings `plan` prints for what the readings left out.
            for warning in report.warnings { diagnostics.warning(warning) }
            for device in report.removed { diagnostics.print(Self.describe(device, created: false, in: report)) }
            for device in report.created { diagnostics.print(Self.describe(device, created: true, in: report)) }
            print(try PlanRenderer.render(report.finalPlan, format: format))
            converged = report.converged
            if !converged {
                diagnostics.print("mdev-reconciler: the host does not match the plan:")
                for failure in report.failures { diagnostics.print("  \(failure)") }
                for parent in report.finalPlan.blockedParents { diagnostics.print("  \(parent.parent): blocked: \(parent.reason ?? "")") }
                for parent in report.finalPlan.parents where parent.hasChanges {
                    diagnostics.print("  \(parent.parent): still \(parent.create.count) to create, \(parent.remove.count) to remove")
                }
            }
        }
        if !converged { throw ExitCode(2) }
    }
}

extension ApplyCommand {
    /// The line for a device created or removed, worded for its parent's interface.
    static func describe(_ device: PlannedDevice, created: Bool, in report: ApplyReport) -> String {
        let parent = report.parents[device.uuid] ?? "?"
        let interface = report.finalPlan.parents.first { $0.parent == parent }?.interface ?? .mdev
        return interface.change(device, created: created, on: parent)
    }
}
