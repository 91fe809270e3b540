import ArgumentParser
import FoundationEssentials
import MdevDaemon
import MdevModel
import MdevSysfs

/// `status`: what the daemon last wrote, next to what sysfs shows now.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", _superCommandName: MdevReconcilerCommand.name,
        abstract: "Show the daemon's view of the host next to live sysfs, and where they disagree.",
        discussion: """
            Exits 2 when the daemon is not running (no status file, or its pid is gone) or its view and sysfs \
            disagree, 1 when the status file or sysfs cannot be read.

            Examples:
              mdev-reconciler status
              mdev-reconciler status --format json
            """)

    @OptionGroup var host: HostRootOptions
    @OptionGroup var statusFileOption: StatusFileOption
    @Option(help: "Output format.") var format: OutputFormat = .text

    func run() throws {
        var agrees = true
        try reportingErrors {
            let status: DaemonStatus
            let statusFile = statusFileOption.path(of: host)
            do {
                status = try StatusFile(path: statusFile).read()
            } catch let error as JSONFileError where error.errno == .noSuchFileOrDirectory {
                Diagnostics().print("mdev-reconciler: the daemon is not running: no status file \(statusFile)")
                agrees = false
                return
            } catch {
                throw InputFileError(description: "daemon status \(error)")
            }
            // The daemon's pid is in this machine's process table, also when files are read under a host root.
            let running = Self.isDaemon(pid: status.pid, procRoot: "/proc")
            let report = StatusReport(status: status, live: try host.makeHost(recording: false).readInventory().inventory, daemonRunning: running)
            agrees = report.disagreements.isEmpty
            print(try report.render(format: format))
        }
        if !agrees { throw ExitCode(2) }
    }
}

extension StatusCommand {
    /// Whether `pid` is a live mdev-reconciler: not gone, not a zombie, not a reused pid.
    static func isDaemon(pid: Int32, procRoot: String) -> Bool {
        guard let stat = try? FileSystem.readText("\(procRoot)/\(pid)/stat"),
              let comm = try? FileSystem.readText("\(procRoot)/\(pid)/comm")
        else { return false }
        // stat is "pid (comm) state ...": the state follows the last ')'.
        let state = stat[(stat.lastIndex(of: ")").map { stat.index($0, offsetBy: 2) } ?? stat.startIndex)...].first
        return comm.trimmingSpaces() == "mdev-reconciler" && state != "Z" && state != "X"
    }
}

/// The daemon's status compared with live sysfs.
struct StatusReport: Encodable {
    var daemon: DaemonStatus
    var daemonRunning: Bool
    /// Differences between the daemon's last view and sysfs now, one sentence each.
    var disagreements: [String]

    init(status: DaemonStatus, live: Inventory, daemonRunning: Bool) {
        daemon = status
        self.daemonRunning = daemonRunning
        var differences: [String] = []
        if !daemonRunning { differences.append("the daemon (pid \(status.pid)) is not running") }
        let known = status.parentsByName
        for parent in live.parents where known[parent.name] == nil {
            differences.append("parent \(parent.name) appeared since the daemon's last pass")
        }
        for entry in status.parents {
            guard let parent = live.parent(named: entry.parent) else {
                differences.append("parent \(entry.parent) is gone since the daemon's last pass")
                continue
            }
            let then = Set(entry.devices.map(\.uuid)), now = Set(parent.devices.map(\.uuid))
            if then != now {
                differences.append("\(entry.parent): \(now.subtracting(then).count) devices more and \(then.subtracting(now).count) fewer than at the daemon's last pass")
            }
        }
        disagreements = differences
    }

    func render(format: OutputFormat) throws -> String {
        switch format {
        case .json: return try JSONOutput.encode(self)
        case .text: return text
        }
    }

    var text: String {
        var lines = [
            "daemon pid \(daemon.pid) \(daemonRunning ? "running" : "NOT running"), \(daemon.passes) passes, last at \(daemon.updated.formatted(.iso8601))",
            "config \(daemon.configFile), generation \(daemon.configGeneration)"
                + (daemon.configError.map { " (last change rejected: \($0))" } ?? ""),
            "node \(daemon.node): \(PlanRenderer.describe(daemon.wanted))",
            "",
        ]
        var table = TextTable(["PARENT", "MODEL", "TARGET", "DEVICES", "STATE"])
        // One row per card: an SR-IOV GPU's virtual functions are summed up as `<GPU> (N VFs)`.
        for (card, parents) in daemon.parents.groupedInOrder(by: { $0.card ?? $0.parent }) {
            var state: [String] = []
            if parents.contains(where: \.stuck) { state.append("stuck") }
            if parents.contains(where: { !$0.blocked.isEmpty }) { state.append("blocked") }
            let toCreate = parents.reduce(0) { $0 + $1.toCreate }, toRemove = parents.reduce(0) { $0 + $1.toRemove }
            if toCreate + toRemove > 0 { state.append("+\(toCreate) −\(toRemove) pending") }
            if parents.contains(where: { $0.lastError != nil }) { state.append("failing") }
            if daemon.unprepared?[card] != nil { state.append("not prepared") }
            let name = parents.count > 1 ? "\(card) (\(parents.count) VFs)" : parents[0].parent
            table.add([name, parents[0].model ?? "-", parents[0].type ?? "-", String(parents.reduce(0) { $0 + $1.devices.count }),
                       state.isEmpty ? "ok" : state.joined(separator: ", ")])
        }
        lines.append(table.rendered)
        for parent in daemon.parents {
            for reason in parent.blocked { lines.append("blocked \(parent.parent): \(reason)") }
            if let error = parent.lastError { lines.append("error \(parent.parent): \(error)") }
        }
        for (gpu, reason) in (daemon.unprepared ?? [:]).sorted(by: { $0.key < $1.key }) { lines.append("not prepared \(gpu): \(reason)") }
        lines += PlanRenderer.layoutLines(held: daemon.held, unserved: daemon.unserved ?? [], rebalance: daemon.rebalance ?? [])
        if daemon.rebalancing == true { lines.append("a rebalance is asked for and not done yet") }
        lines.append("")
        lines += disagreements.isEmpty ? ["sysfs agrees with the daemon's last pass"] : disagreements.map { "disagrees: \($0)" }
        return lines.joined(separator: "\n")
    }
}
