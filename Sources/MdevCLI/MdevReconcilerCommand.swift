import ArgumentParser
import MdevDaemon

/// The `mdev-reconciler` command line.
public struct MdevReconcilerCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: MdevReconcilerCommand.name,
        abstract: "Keeps a host's mediated devices (mdevs, NVIDIA vGPUs) as one declarative config says.",
        discussion: """
            The config uses KubeVirt's mediatedDevicesConfiguration schema. Exit status: 0 on success, \
            1 on an error (bad input, unreadable host), 2 when apply could not make the host match its plan \
            or status finds the daemon's view and sysfs disagree.

            Examples:
              mdev-reconciler types
              mdev-reconciler plan
              mdev-reconciler apply
              mdev-reconciler help plan
            """,
        version: MdevReconcilerCommand.version,
        subcommands: [
            PlanCommand.self, ApplyCommand.self, TypesCommand.self, ValidateCommand.self, StatusCommand.self, RunCommand.self,
            RebalanceCommand.self, DevicesCommand.self, NVMLCommand.self, KubeAgentCommand.self,
        ]
    )

    public static let version = "0.2.0"

    /// The program's name, which the subcommands name as their super-command (``SubcommandRoute``).
    static let name = "mdev-reconciler"

    public init() {}

    /// Parses the process's arguments and runs the chosen command, awaiting asynchronous ones (`run`).
    ///
    /// On the main actor, so that parsing and a synchronous command (`plan`, `types`, `validate`, `status`) run
    /// on the main thread: a nonisolated function would hop to the cooperative pool first, whose threads the
    /// process then has to start (four of them for `plan`, a quarter of its time on the build machine).
    @MainActor
    public static func start() async {
        do {
            var command: any ParsableCommand
            do {
                command = try parseCommand(Array(CommandLine.arguments.dropFirst()))
            } catch let error as ArgumentPreflight.UsageError {
                Diagnostics().print("mdev-reconciler: error: \(error)")
                Diagnostics().print("See 'mdev-reconciler --help' for the commands and their options.")
                exit(withError: ExitCode.validationFailure)
            }
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

extension MdevReconcilerCommand {
    /// The command `arguments` name, parsed and its options validated, not run: what ``start()`` runs, and
    /// what the options fuzz target checks.
    public static func parseCommand(_ arguments: [String]) throws -> any ParsableCommand {
        let commands = configuration.subcommands.map { $0.configuration.commandName ?? "" }
        return try SubcommandRoute.parse(try ArgumentPreflight.prepare(arguments, commands: commands), root: self).command
    }

    /// The daemon's timing the options of a parsed `run` set; nil for any other command.
    public static func runTiming(of command: any ParsableCommand) -> ReconcilerTiming? {
        (command as? RunCommand)?.timing
    }
}

/// Runs a command body, turning any error into one line on standard error and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch { throw reported(error) }
}

/// Runs an asynchronous command body, turning any error into one line on standard error and exit status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do { try await body() } catch { throw reported(error) }
}

/// An exit code as it is; any other error printed as one line, then exit status 1.
private func reported(_ error: any Error) -> any Error {
    if let exit = error as? ExitCode { return exit }
    Diagnostics().print("mdev-reconciler: error: \(error)")
    return ExitCode.failure
}
