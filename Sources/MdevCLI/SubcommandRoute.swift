import ArgumentParser

/// The one shortcut through the argument parser: a command line that names a subcommand and asks nothing
/// of the parser itself is parsed by that subcommand's type alone.
///
/// Parsing from the root costs a one-shot command most of its instructions (for `plan`, 13.6 of 24.4
/// million): the root first parses every argument twice more to look for `--generate-completion-script`,
/// then reflects on the subcommand it found before parsing it. The subcommands say they belong to
/// `mdev-reconciler` (`_superCommandName`), so that parsed alone they skip the completion check and name
/// themselves as under the root in any text. Whatever the shortcut does not take (help, the version,
/// completion scripts, the manual's dump), and any command line it cannot parse, goes through the root,
/// which prints its errors and help exactly as before.
enum SubcommandRoute {
    /// The arguments the parser answers itself, wherever they stand.
    static let parserArguments: Set<String> = ["-h", "--help", "help", "--version", "---completion", "--experimental-dump-help"]

    /// The subcommand type that can parse `arguments` (without their first word) alone, if any.
    static func subcommand(for arguments: [String], among subcommands: [any ParsableCommand.Type]) -> (any ParsableCommand.Type)? {
        guard let first = arguments.first,
              let subcommand = subcommands.first(where: { $0.configuration.commandName == first }),
              subcommand.configuration._superCommandName != nil,
              !arguments.contains(where: { parserArguments.contains($0) || $0.hasPrefix("--generate-completion-script") })
        else { return nil }
        return subcommand
    }

    /// How a command line was parsed.
    enum Route: Equatable { case subcommandAlone, root }

    /// The command `arguments` ask for: parsed by its subcommand alone where it can be, else from `root`.
    static func parse(_ arguments: [String], root: any ParsableCommand.Type) throws -> (command: any ParsableCommand, route: Route) {
        if let subcommand = subcommand(for: arguments, among: root.configuration.subcommands),
           let command = try? subcommand.parseAsRoot(Array(arguments.dropFirst())) {
            return (command, .subcommandAlone)
        }
        return (try root.parseAsRoot(arguments), .root)
    }
}
