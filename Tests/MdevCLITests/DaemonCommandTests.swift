import Foundation
import Glibc
import MdevDaemon
import MdevModel
import MdevTestSupport
import Testing

/// `run` and `status` as a user (or systemd) would use them: a real process, real signals, real files.
@Suite("The daemon command", .timeLimit(.minutes(1)))
struct DaemonCommandTests {
    /// A running `mdev-reconciler run` on a copy of an example host, with its stderr lines recorded.
    final class RunningDaemon: Sendable {
        let process: ChildProcess
        let lines = Recorder<String>()
        let directory: String
        var host: String { directory + "/host" }
        var config: String { host + "/etc/mdev-reconciler/config.yaml" }
        var statusFile: String { directory + "/status.json" }

        /// - Parameters:
        ///   - writeConfig: lays out the config under `<host>/etc/mdev-reconciler` (default: `config.yaml` with `config`).
        ///   - arguments: more options for `run`.
        init(
            example: String, config: String, arguments: [String] = [],
            writeConfig: ((_ etc: String, _ config: String) throws -> Void)? = nil
        ) throws {
            directory = try temporaryDirectory()
            try copyExampleHost(example, to: directory + "/host")
            let etc = directory + "/host/etc/mdev-reconciler"
            try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
            if let writeConfig {
                try writeConfig(etc, config)
            } else {
                try config.write(toFile: etc + "/config.yaml", atomically: true, encoding: .utf8)
            }
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mdev-reconciler")
            process = try ChildProcess(
                binary.path,
                ["run", "--host-root", directory + "/host", "--node-name", "node01", "--status-file", directory + "/status.json"] + arguments,
                environment: programEnvironment(), directory: repositoryRoot, stderrLine: { [lines] in lines.record($0) })
        }

        /// Waits for a stderr line containing `text`, at or after line `start`.
        @discardableResult
        func line(containing text: String, from start: Int = 0) async throws -> String {
            try await lines.first(from: start) { $0.contains(text) }
        }

        func signal(_ number: Int32) { process.signal(number) }

        deinit {
            process.signal(SIGTERM)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("run: first pass, a rejected edit, SIGHUP, a good edit by rename, then SIGTERM exits 0")
    func lifecycle() async throws {
        let daemon = try RunningDaemon(example: "mtty", config: "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-2]\n")
        try await daemon.line(containing: "first pass done; watching for changes")
        let status = try StatusFile(path: daemon.statusFile).read()
        #expect(status.pid == daemon.process.pid)
        #expect(status.parents.map(\.type) == ["mtty-2"])
        #expect(status.configGeneration == 1)
        // The digest of the inputs in force, as the cluster agent computes it of the files it writes (no labels file here).
        #expect(status.configDigest == InputDigest.of(config: "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-2]\n", labels: ""))

        // An edit that does not parse: rejected with its location, the old config stays.
        var mark = daemon.lines.count
        try "mediatedDevicesConfiguration: [\n".write(toFile: daemon.config, atomically: false, encoding: .utf8)
        let rejected = try await daemon.line(containing: "config rejected", from: mark)
        #expect(rejected.contains("\(daemon.config):2:1: invalid YAML"))
        #expect(rejected.hasPrefix("<3>error"))

        // SIGHUP re-reads it (still bad).
        mark = daemon.lines.count
        daemon.signal(SIGHUP)
        try await daemon.line(containing: "config rejected, generation 1 stays in force", from: mark)

        // A good edit by rename (as editors do) is picked up without a signal.
        mark = daemon.lines.count
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-1]\n".write(toFile: daemon.config + ".new", atomically: false, encoding: .utf8)
        #expect(rename(daemon.config + ".new", daemon.config) == 0)
        let loaded = try await daemon.line(containing: "config generation 2 in force", from: mark)
        #expect(loaded.contains("wants mtty-1"))

        mark = daemon.lines.count
        daemon.signal(SIGTERM)
        try await daemon.line(containing: "stopped; every device stays as it is", from: mark)
        #expect(daemon.process.waitUntilExit() == .exited(0))
    }

    @Test("run: a missing config at start is one clear line and exit 1")
    func missingConfig() throws {
        let result = try runCLI(["run", "--config", "/nonexistent/config.yaml", "--host-root", "contrib/example-hosts/mtty", "--node-name", "n"])
        #expect(result.status == 1)
        #expect(result.stderr == "mdev-reconciler: error: config file /nonexistent/config.yaml does not exist\n")
    }

    @Test("status: the daemon's view next to sysfs; a dead daemon or a changed host is a disagreement (exit 2)")
    func status() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let live = try #require(try ExampleHosts.t4InUse().kernel.readInventory().inventory.parents.first)
        let statusFile = StatusFile(path: directory + "/status.json")
        try statusFile.write(DaemonStatus(
            pid: 999_999, updated: Date(timeIntervalSince1970: 1_800_000_000), node: "node01", configFile: "/etc/mdev-reconciler/config.yaml",
            configGeneration: 3, configError: nil, wanted: WantedTypes(types: ["nvidia-228"], source: .global), passes: 7,
            parents: [.init(parent: live.name, model: "GRID T4", type: "nvidia-228", devices: [], blocked: [], lastError: nil,
                            stuck: false, toCreate: 1, toRemove: 0)]))
        let result = try runCLI(["status", "--status-file", statusFile.path, "--host-root", "contrib/example-hosts/t4-in-use"])
        #expect(result.status == 2)
        #expect(result.stdout.contains("daemon pid 999999 NOT running, 7 passes"))
        #expect(result.stdout.contains("config /etc/mdev-reconciler/config.yaml, generation 3"))
        #expect(result.stdout.contains("disagrees: the daemon (pid 999999) is not running"))
        #expect(result.stdout.contains("disagrees: 0000:3b:00.0: 1 devices more and 0 fewer than at the daemon's last pass"))
        #expect(result.stdout.contains("disagrees: parent 0000:3c:00.0 appeared since the daemon's last pass"))
        let missing = try runCLI(["status", "--status-file", directory + "/none.json"])
        // No status file: the daemon is not running, which the help says is exit 2.
        #expect(missing.status == 2)
        #expect(missing.stderr == "mdev-reconciler: the daemon is not running: no status file \(directory)/none.json\n")
        // A status file that holds something else: exit 1, one line naming the file and the field.
        try #"{"version": 1}"#.write(toFile: directory + "/garbled.json", atomically: false, encoding: .utf8)
        let garbled = try runCLI(["status", "--status-file", directory + "/garbled.json"])
        #expect(garbled.status == 1)
        #expect(garbled.stderr == "mdev-reconciler: error: daemon status \(directory)/garbled.json lacks 'pid' at the top level\n")
        try "\u{1B}[2J not json".write(toFile: directory + "/garbled.json", atomically: false, encoding: .utf8)
        #expect(try runCLI(["status", "--status-file", directory + "/garbled.json"]).stderr
            == "mdev-reconciler: error: daemon status \(directory)/garbled.json is not valid JSON\n")
    }
}

/// A value shared between threads.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
