import Foundation
import Glibc
import MdevSysfs
import MdevTestSupport
import Testing

/// `--metrics-file` of `apply` and `run`, as cron and systemd use them: real processes, real files, promtool.
@Suite("The metrics file of apply and run", .timeLimit(.minutes(1)))
struct MetricsCommandTests {
    func checked(_ path: String) throws -> [String: Double] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let result = try ExternalChecker.promtool(text)
        #expect(result.passed, "\(result.output)")
        return prometheusSamples(text)
    }

    @Test("apply --metrics-file: one pass, the host's devices and what blocks it")
    func apply() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try copyExampleHost("t4-in-use", to: directory + "/host")
        let result = try runCLI([
            "apply", "--config", "contrib/examples/kubevirt-cr.yaml", "--host-root", directory + "/host", "--node-name", "node01",
            "--metrics-file", directory + "/mdev-reconciler.prom",
        ])
        #expect(result.status == 2)  // The foreign device blocks its card.
        let values = try checked(directory + "/mdev-reconciler.prom")
        #expect(values[#"mdev_reconciler_passes_total{trigger="apply"}"#] == 1)
        #expect(values[#"mdev_reconciler_passes_total{trigger="start"}"#] == nil)
        #expect(values["mdev_reconciler_daemon_running"] == nil)
        #expect(values[#"mdev_reconciler_blocked_parents{reason="foreign"}"#] == 1)
        #expect(values[#"mdev_reconciler_devices{parent="0000:3b:00.0",card="0000:3b:00.0",type="nvidia-228",owner="foreign",in_use="true"}"#] == 1)
        #expect(values[#"mdev_reconciler_free_devices{type="nvidia-230",type_name="GRID T4-1Q"}"#] == 1)
        #expect(values["mdev_reconciler_pass_duration_seconds_count"] == 1)
        #expect(values.keys.contains { $0.hasPrefix("mdev_reconciler_build_info{version=") })

        // A file that cannot be written: said before the host changes (exit 1, nothing created), naming the
        // file the user gave.
        try copyExampleHost("t4-in-use", to: directory + "/untouched")
        let unwritable = try runCLI([
            "apply", "--config", "contrib/examples/kubevirt-cr.yaml", "--host-root", directory + "/untouched", "--node-name", "node01",
            "--metrics-file", directory + "/none/mdev-reconciler.prom",
        ])
        #expect(unwritable.status == 1)
        #expect(unwritable.stdout.isEmpty)
        #expect(unwritable.stderr == "mdev-reconciler: error: cannot write the metrics file \(directory)/none/mdev-reconciler.prom: "
            + "open \(directory)/none: No such file or directory\n")
        // The apply that succeeded above wrote a UUID here; this one wrote nothing.
        // (Read by the program's own reader: Foundation's leaks what it allocates for an empty file.)
        #expect(try FileSystem.readText(directory + "/host/sys/devices/pci0000:00/0000:3b:00.0/mdev_supported_types/nvidia-228/create") != "")
        #expect(try FileSystem.readText(directory + "/untouched/sys/devices/pci0000:00/0000:3b:00.0/mdev_supported_types/nvidia-228/create") == "")
    }

    @Test("run --metrics-file: written at start, after each pass and at stop; a missing directory is said once")
    func run() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try copyExampleHost("mtty", to: directory + "/host")
        let etc = directory + "/host/etc/mdev-reconciler"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-2]\n".write(toFile: etc + "/config.yaml", atomically: true, encoding: .utf8)
        let metrics = directory + "/collector/mdev-reconciler.prom"
        let lines = Recorder<String>()
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mdev-reconciler")
        let process = try ChildProcess(
            binary.path,
            ["run", "--host-root", directory + "/host", "--node-name", "node01", "--status-file", directory + "/status.json",
             "--metrics-file", metrics, "--log-target", "stderr"],
            environment: programEnvironment(), directory: repositoryRoot, stderrLine: { lines.record($0) })
        // No collector directory yet: said once, at info level, and the daemon goes on.
        try await lines.first(from: 0) { $0.contains("first pass done") }
        let missing = lines.all.filter { $0.contains("does not exist (no node_exporter textfile collector?)") }
        #expect(missing.count == 1)
        #expect(missing.first?.hasPrefix("<6>") == true)

        // The directory appears; a config edit makes a pass, which writes the file.
        try FileManager.default.createDirectory(atPath: directory + "/collector", withIntermediateDirectories: true)
        var mark = lines.count
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-1]\n".write(toFile: etc + "/config.yaml", atomically: true, encoding: .utf8)
        try await lines.first(from: mark) { $0.contains("config generation 2 in force") }
        try await lines.first(from: mark) { $0.contains("the metrics file \(metrics) is written again") }
        var values = try checked(metrics)
        #expect(values["mdev_reconciler_daemon_running"] == 1)
        #expect(values["mdev_reconciler_config_generation"] == 2)
        #expect(values[#"mdev_reconciler_passes_total{trigger="start"}"#] == 1)
        // The edit (a write and a rename) may reach the daemon as one burst or as two, a slow machine apart.
        let configChanges = try #require(values[#"mdev_reconciler_passes_total{trigger="config_change"}"#])
        #expect(configChanges >= 1)
        #expect(values[#"mdev_reconciler_wanted_devices{parent="mtty",card="mtty",type="mtty-1"}"#] != nil)

        mark = lines.count
        process.signal(SIGTERM)
        try await lines.first(from: mark) { $0.contains("stopped; every device stays as it is") }
        #expect(process.waitUntilExit() == .exited(0))
        values = try checked(metrics)
        #expect(values["mdev_reconciler_daemon_running"] == 0)
        #expect(try #require(values[#"mdev_reconciler_passes_total{trigger="config_change"}"#]) >= configChanges)
    }
}
