import ArgumentParser
import MdevModel
import MdevSysfs

/// `plan`: what `apply` would do. Writes nothing anywhere.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", _superCommandName: MdevReconcilerCommand.name, abstract: "Show what apply would change (a dry run: writes nothing).",
        discussion: """
            Reads the host, the config and the layout record (read-only), and prints per parent the devices to \
            create and to remove, why a device stays, which wanted types the kept layout leaves unserved and what \
            a rebalance would do. Exits 0 whatever the plan holds.

            Examples:
              mdev-reconciler plan
              mdev-reconciler plan --config /etc/mdev-reconciler/config.yaml --format json
              mdev-reconciler plan --config contrib/examples/kubevirt-docs-three-t4.yaml \\
                  --host-root contrib/example-hosts/three-t4 --node-name node01
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions
    @Option(help: "Output format.") var format: OutputFormat = .text
    @Flag(help: "Plan the balanced layout, as apply --rebalance would.") var rebalance = false

    func run() throws {
        try reportingErrors {
            let diagnostics = Diagnostics()
            let context = try HostContext.load(
                host: host, configFile: configOptions.config ?? host.environment.configFile, diagnostics: diagnostics, recording: false,
                rebalance: rebalance)
            let reading = try context.host.readInventory()
            for warning in reading.warnings { diagnostics.warning(warning) }
            let plan = context.plan(reading.inventory)
            // Cards apply would make ready first (MIG mode, GPU instances): `plan` prepares nothing.
            let toPrepare = context.loaded.config.settings.manageMIG ? MIGCardPreparer.cardsToPrepare(plan, inventory: reading.inventory) : []
            print(try PlanRenderer.render(plan, format: format, cardStates: Dictionary(uniqueKeysWithValues: toPrepare.map { ($0, "to prepare") })))
        }
    }
}
