import ArgumentParser
import MdevSysfs

/// `rebalance`: asks the daemon to restore the balanced layout.
struct RebalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebalance", _superCommandName: MdevReconcilerCommand.name,
        abstract: "Ask the daemon to restore the balanced layout, moving idle devices between cards if need be.",
        discussion: """
            While the wanted types stay the same, a card that goes away leaves its type unserved rather than \
            moving the devices of the cards that stay; `plan` and `status` say what a rebalance would move. This \
            command writes the request file rebalance-requested into the state directory, which the daemon \
            watches: its next pass (at once) plans the balanced layout, and the pass that reaches it removes the \
            file. A daemon that is not running sees the request when it starts; `plan` and `apply` see it too.

            Examples:
              mdev-reconciler plan          # what a rebalance would move
              mdev-reconciler rebalance
            """)

    @OptionGroup var host: HostRootOptions

    func run() throws {
        try reportingErrors {
            let record = LayoutRecord(stateDirectory: host.environment.stateDirectory)
            try record.requestRebalance()
            print("rebalance requested (\(record.requestPath)): the daemon plans the balanced layout at its next pass")
        }
    }
}
