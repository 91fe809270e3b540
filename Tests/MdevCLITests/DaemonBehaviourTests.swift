import Foundation
import Glibc
import MdevDaemon
import MdevModel
import Testing

/// What the README says the daemon does, shown on the real binary: signals, warnings, ConfigMap volumes,
/// labels, and `status` next to a live daemon.
@Suite("The daemon as the README describes it", .timeLimit(.minutes(1)))
struct DaemonBehaviourTests {
    typealias RunningDaemon = DaemonCommandTests.RunningDaemon

    @Test("SIGINT stops the daemon like SIGTERM: exit 0, every device left as it is")
    func sigint() async throws {
        let daemon = try RunningDaemon(example: "mtty", config: "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-2]\n")
        try await daemon.line(containing: "first pass done")
        let mark = daemon.lines.count
        daemon.signal(SIGINT)
        try await daemon.line(containing: "stopped; every device stays as it is", from: mark)
        #expect(daemon.process.waitUntilExit() == .exited(0))
    }

    @Test("The deprecated spelling is warned about by the daemon, with its location, and still works")
    func deprecatedSpelling() async throws {
        let daemon = try RunningDaemon(example: "mtty", config: "mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [mtty-2]\n")
        let warning = try await daemon.line(containing: "is deprecated")
        #expect(warning.contains("\(daemon.config):2:3: warning: mediatedDevicesConfiguration.mediatedDevicesTypes: 'mediatedDevicesTypes' is deprecated"))
        try await daemon.line(containing: "first pass done")
        #expect(try StatusFile(path: daemon.statusFile).read().parents.map(\.type) == ["mtty-2"])
    }

    @Test("A Kubernetes ConfigMap update (..data swapped by rename) is read by the running daemon")
    func configMapSwap() async throws {
        let daemon = try RunningDaemon(example: "mtty", config: "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-2]\n") { etc, config in
            let manager = FileManager.default
            try manager.createDirectory(atPath: etc + "/..2026_12_01_01", withIntermediateDirectories: true)
            try config.write(toFile: etc + "/..2026_12_01_01/config.yaml", atomically: false, encoding: .utf8)
            try manager.createSymbolicLink(atPath: etc + "/..data", withDestinationPath: "..2026_12_01_01")
            try manager.createSymbolicLink(atPath: etc + "/config.yaml", withDestinationPath: "..data/config.yaml")
        }
        try await daemon.line(containing: "first pass done")
        let etc = daemon.host + "/etc/mdev-reconciler"
        let mark = daemon.lines.count
        try FileManager.default.createDirectory(atPath: etc + "/..2026_12_01_02", withIntermediateDirectories: true)
        try "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-1]\n"
            .write(toFile: etc + "/..2026_12_01_02/config.yaml", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: etc + "/..data_tmp", withDestinationPath: "..2026_12_01_02")
        #expect(rename(etc + "/..data_tmp", etc + "/..data") == 0)
        let loaded = try await daemon.line(containing: "config generation 2 in force", from: mark)
        #expect(loaded.contains("wants mtty-1"))
    }

    @Test("A labels file written after start, in a directory created after start, is read by the running daemon")
    func labelsLater() async throws {
        let config = """
            mediatedDevicesConfiguration:
              mediatedDeviceTypes: [mtty-2]
              nodeMediatedDeviceTypes:
                - nodeSelector: {pool: serial}
                  mediatedDeviceTypes: [mtty-1]

            """
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The default labels file lives beside the default config; this config is elsewhere, so the labels
        // file's directory does not exist when the daemon starts.
        let configFile = directory + "/config.yaml"
        try config.write(toFile: configFile, atomically: false, encoding: .utf8)
        let daemon = try RunningDaemon(example: "mtty", config: config, arguments: ["--config", configFile]) { etc, _ in
            try FileManager.default.removeItem(atPath: etc)
        }
        try await daemon.line(containing: "first pass done")
        #expect(try StatusFile(path: daemon.statusFile).read().parents.map(\.type) == ["mtty-2"])
        let mark = daemon.lines.count
        let etc = daemon.host + "/etc/mdev-reconciler"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try "pool=serial\n".write(toFile: etc + "/labels", atomically: false, encoding: .utf8)
        let loaded = try await daemon.line(containing: "config generation 2 in force", from: mark)
        #expect(loaded.contains("wants mtty-1"))
    }

    @Test("status next to a live daemon: its pid, running; agreeing exits 0; JSON; a parent gone is a disagreement")
    func statusWithLiveDaemon() async throws {
        let daemon = try RunningDaemon(example: "t4-in-use", config: "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: []\n")
        try await daemon.line(containing: "first pass done")
        // The daemon is a process of this machine: its pid is looked for in the real /proc.
        let arguments = ["status", "--status-file", daemon.statusFile, "--host-root", daemon.host]
        let text = try runCLI(arguments)
        #expect(text.status == 0, "\(text.stdout)")
        #expect(text.stdout.contains("daemon pid \(daemon.process.pid) running"))
        #expect(text.stdout.contains("sysfs agrees with the daemon's last pass"))
        struct Report: Decodable {
            struct Status: Decodable { var pid: Int32 }
            var daemon: Status
            var daemonRunning: Bool
            var disagreements: [String]
        }
        let json = try runCLI(arguments + ["--format", "json"])
        #expect(json.status == 0)
        let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
        #expect(report.daemon.pid == daemon.process.pid && report.daemonRunning && report.disagreements.isEmpty)
        // A card unplugged (its class link gone) while the daemon's view still has it. The daemon reacts to
        // uevents only, so a tree edit goes unseen by it: the disagreement stays for status to report.
        try FileManager.default.removeItem(atPath: daemon.host + "/sys/class/mdev_bus/0000:3c:00.0")
        let gone = try runCLI(arguments)
        #expect(gone.status == 2)
        #expect(gone.stdout.contains("disagrees: parent 0000:3c:00.0 is gone since the daemon's last pass"))
    }
}
