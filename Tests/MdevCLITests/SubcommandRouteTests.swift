import ArgumentParser
import Testing

@testable import MdevCLI

@Suite("The subcommand shortcut through the argument parser")
struct SubcommandRouteTests {
    /// Command lines of every subcommand, as users and the unit write them.
    static let commandLines: [[String]] = [
        ["plan"],
        ["plan", "--config", "/etc/mdev-reconciler/config.yaml", "--host-root", "/tmp", "--node-name", "node01"],
        ["plan", "--format", "json", "--sysfs-root", "/tmp/sys", "--proc-root=/tmp/proc", "--machine-id-file", "/tmp/id"],
        ["plan", "--config", "-"],
        ["apply", "--config", "c.yaml", "--format", "json"],
        ["apply"],
        ["types", "--format", "json", "--host-root", "/"],
        ["validate", "--config", "c.yaml", "--node-name", "n1"],
        ["status", "--format", "json"],
        ["run", "--config", "c.yaml", "--debounce", "50", "--max-delay", "500", "--write-timeout", "3", "--log-level", "debug"],
        ["run", "--udev-group", "kernel"],
    ]

    @Test("Parsed by the subcommand alone, every command line gives the very command the root gives", arguments: commandLines)
    func sameCommand(arguments: [String]) throws {
        let subcommand = try #require(SubcommandRoute.subcommand(for: arguments, among: MdevReconcilerCommand.configuration.subcommands))
        let alone = try subcommand.parseAsRoot(Array(arguments.dropFirst()))
        let fromRoot = try MdevReconcilerCommand.parseAsRoot(arguments)
        #expect(type(of: alone) == type(of: fromRoot))
        #expect(Self.described(alone) == Self.described(fromRoot))
        let routed = try SubcommandRoute.parse(arguments, root: MdevReconcilerCommand.self)
        #expect(routed.route == .subcommandAlone)
        #expect(Self.described(routed.command) == Self.described(fromRoot))
    }

    @Test("Every subcommand can be parsed alone: each names the program as its super-command")
    func everySubcommand() {
        for subcommand in MdevReconcilerCommand.configuration.subcommands {
            let name = subcommand.configuration.commandName ?? ""
            #expect(SubcommandRoute.subcommand(for: [name], among: MdevReconcilerCommand.configuration.subcommands) == subcommand, "\(name)")
        }
    }

    @Test("What the parser answers itself goes through the root", arguments: [
        [], ["--help"], ["-h"], ["help", "plan"], ["plan", "--help"], ["plan", "-h"], ["--version"], ["plan", "--version"],
        ["--generate-completion-script", "bash"], ["plan", "--generate-completion-script=zsh"], ["---completion", "plan", "--", "x", "0", "0"],
        ["--experimental-dump-help"], ["plan", "--node-name", "help"], ["bogus"], ["--config", "c.yaml"],
    ])
    func throughTheRoot(arguments: [String]) {
        #expect(SubcommandRoute.subcommand(for: arguments, among: MdevReconcilerCommand.configuration.subcommands) == nil)
    }

    @Test("A command line the subcommand refuses is refused by the root, with the root's message", arguments: [
        ["plan", "--format", "yaml"], ["run", "--debounce", "0"], ["apply", "--bogus"], ["types", "extra"], ["status", "--format"],
    ])
    func errorsFromTheRoot(arguments: [String]) {
        var fromRoot = ""
        do { _ = try MdevReconcilerCommand.parseAsRoot(arguments) } catch { fromRoot = MdevReconcilerCommand.fullMessage(for: error) }
        var routed = ""
        do { _ = try SubcommandRoute.parse(arguments, root: MdevReconcilerCommand.self) } catch { routed = MdevReconcilerCommand.fullMessage(for: error) }
        #expect(!fromRoot.isEmpty)
        #expect(routed == fromRoot)
    }

    /// Every stored value of a command, option groups included.
    static func described(_ command: any ParsableCommand) -> String {
        var text = ""
        dump(command, to: &text)
        return text
    }
}
