import ArgumentParser
import FoundationEssentials
import MdevDaemon
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

            Cards keep the types of the layout remembered in the state directory while the wanted list is the \
            same: a card that went away leaves its type unserved until it comes back or --rebalance is given. A \
            list that names only types no card has, while devices of this program exist, changes nothing and \
            exits 1 (a likely typo), unless --allow-removal-of-all is given.

            Examples:
              mdev-reconciler apply
              kubectl get kubevirt kubevirt -n kubevirt -o yaml \\
                  | mdev-reconciler apply --config -
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var write: WriteTimeoutOption
    @Option(help: "Output format of the resulting plan.") var format: OutputFormat = .text
    @Flag(help: "Restore the balanced layout, moving idle devices of wanted types between cards if need be.") var rebalance = false
    @Flag(help: "Remove every device of this program even when no card has any wanted type (otherwise taken for a typo).")
    var allowRemovalOfAll = false
    @Option(help: ArgumentHelp(
        "Write the Prometheus metrics of this apply to FILE (as the daemon does), for node_exporter's textfile collector.", valueName: "FILE"))
    var metricsFile: String?

    func run() async throws {
        var converged = true
        var held = false
        try await reportingErrors {
            let diagnostics = Diagnostics()
            // A metrics file that could not be written is said before anything changes.
            if let metricsFile {
                do {
                    try MetricsFile(path: metricsFile).checkWritable()
                } catch {
                    throw MetricsFile.WriteError(path: metricsFile, underlying: error)
                }
            }
            var context = try HostContext.load(
                host: host, configFile: configOptions.config ?? host.environment.configFile, diagnostics: diagnostics, recording: true,
                rebalance: rebalance)
            context.allowRemovalOfAll = allowRemovalOfAll
            let preparer = context.loaded.config.settings.manageMIG ? host.makeCardPreparer(for: context.host) : nil
            if context.loaded.config.settings.enableVirtualFunctions {
                // With manageMIG, MIG mode goes on first for a GPU that is to get a MIG-backed type (the driver's order).
                let outcomes = host.makeEnabler().enable { [context] gpu in
                    guard let preparation = preparer?.prepareBeforeParents(
                        card: gpu, wanted: context.loaded.wanted.types, remembered: context.remembered?.cards[gpu]) else { return }
                    for step in preparation.done { diagnostics.print("\(step)") }
                    for problem in preparation.problems.values { diagnostics.warning(problem) }
                }
                for outcome in outcomes { diagnostics.print("\(outcome)") }
            }
            let started = ContinuousClock.now
            let report = try await Applier(host: context.host, writeDeadline: write.deadline, preparer: preparer) { [context] in
                context.plan($0)
            }.apply()
            let duration = ContinuousClock.now - started
            // The same warnings `plan` prints for what the readings left out.
            for warning in report.warnings { diagnostics.warning(warning) }
            for step in report.prepared { diagnostics.print("\(step)") }
            for device in report.removed { diagnostics.print(Self.describe(device, created: false, in: report)) }
            for device in report.created { diagnostics.print(Self.describe(device, created: true, in: report)) }
            print(try PlanRenderer.render(report.finalPlan, format: format, cardStates: report.unprepared.mapValues { _ in "not prepared" }))
            // After what the apply did is printed: a metrics file that cannot be written is an error of its own.
            if let metricsFile {
                do {
                    try Self.writeMetrics(report, duration: duration, hostKey: context.hostKey, to: MetricsFile(path: metricsFile))
                } catch {
                    throw MetricsFile.WriteError(path: metricsFile, underlying: error)
                }
            }
            if let typo = report.finalPlan.held {
                diagnostics.print("mdev-reconciler: error: \(typo.message)")
                held = true
                return
            }
            Self.remember(report, context: context, diagnostics: diagnostics)
            converged = report.converged
            if !converged {
                diagnostics.print("mdev-reconciler: the host does not match the plan:")
                for failure in report.failures { diagnostics.print("  \(failure)") }
                for parent in report.stuck {
                    diagnostics.print("  \(parent): stuck: its writes have not returned after \(write.writeTimeout) s (--write-timeout); they go on in the background")
                }
                for (card, problem) in report.unprepared.sorted(by: { $0.key < $1.key }) { diagnostics.print("  \(card): not prepared: \(problem)") }
                for parent in report.finalPlan.blockedParents { diagnostics.print("  \(parent.parent): blocked: \(parent.reason ?? "")") }
                for parent in report.finalPlan.parents where parent.hasChanges {
                    diagnostics.print("  \(parent.parent): still \(parent.create.count) to create, \(parent.remove.count) to remove")
                }
            }
        }
        if held { throw ExitCode.failure }
        if !converged { throw ExitCode(2) }
    }

    /// Writes what the daemon's metrics file says after a pass, for this apply's one pass.
    static func writeMetrics(_ report: ApplyReport, duration: Duration, hostKey: HostKey, to file: MetricsFile) throws {
        var counters = PassCounters(triggers: [.apply])
        counters.record(trigger: .apply, duration: duration, failures: report.failures, converged: report.hostMatchesPlan, at: Date())
        var metrics = HostMetrics(
            version: MdevReconcilerCommand.version, running: nil, counters: counters, inventory: report.inventory, hostKey: hostKey,
            plan: report.finalPlan)
        metrics.configHeld = report.finalPlan.held != nil
        metrics.unprepared = Set(report.unprepared.keys)
        try file.write(metrics)
    }

    /// Saves the layout the apply converged to, and marks a rebalance request as carried out.
    static func remember(_ report: ApplyReport, context: HostContext, diagnostics: Diagnostics) {
        guard let layout = report.layoutToRemember else { return }
        do {
            if layout != context.remembered { try context.record.save(layout) }
            if context.rebalance && context.record.isRebalanceRequested { try context.record.clearRequest() }
        } catch {
            diagnostics.warning("cannot update the layout record: \(error)")
        }
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
