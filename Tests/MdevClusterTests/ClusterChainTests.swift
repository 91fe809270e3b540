import Foundation
import Glibc
import MdevDaemon
import MdevKube
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

/// The whole chain on one machine, as a host-mode node runs it: the real API server, the `kube-agent`
/// binary with the service account's token, and `run` on a copy of the `mtty` example host reading the
/// agent's files. Both programs' stderr lines are recorded with the instant they arrived, which gives the
/// FIGURE lines (label change → labels file → the daemon's pass), measured, not asserted.
@Suite("The chain: API server, kube-agent and run", .serialized, .timeLimit(.minutes(4)))
struct ClusterChainTests {
    /// A line of a program's stderr and when it came.
    struct Line: Sendable {
        var at: ContinuousClock.Instant
        var text: String
    }

    /// The built binary, or `MDEV_RECONCILER_BINARY` (the packaged release binary, for its figures).
    static let binary = ProcessInfo.processInfo.environment["MDEV_RECONCILER_BINARY"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mdev-reconciler").path
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("The node reads success once run converged to the agent's files; a label change moves the plan; SIGTERM ends both")
    func chain() async throws {
        try await KubeAPIServer.withAgentManifests(folder: "chain") { try await chain(server: $0, directory: $1) }
    }

    func chain(server: KubeAPIServer, directory: String) async throws {
        try await offThePool { try Self.prepare(server: server, directory: directory) }
        let (config, labels, status) = (directory + "/cluster/config.yaml", directory + "/cluster/labels", directory + "/status.json")
        let agentLines = Recorder<Line>()
        let agent = try ChildProcess(Self.binary, [
            "kube-agent", "--kubeconfig", directory + "/kubeconfig", "--node-name", "node-1", "--config", config, "--labels", labels,
            "--status-file", status, "--log-level", "debug",
        ], environment: ProcessInfo.processInfo.environment, stderrLine: { agentLines.record(Line(at: .now, text: $0)) })
        defer { if agent.isRunning { agent.signal(SIGKILL) } }
        _ = try await agentLines.first(from: 0) { $0.text.contains("wrote \(config)") }

        // run starts once there is a config to read, as systemd restarts it until then.
        let daemonLines = Recorder<Line>()
        let daemon = try ChildProcess(Self.binary, [
            "run", "--config", config, "--labels", labels, "--host-root", directory + "/host", "--node-name", "node-1",
            "--status-file", status, "--log-target", "stderr",
        ], environment: ProcessInfo.processInfo.environment, stderrLine: { daemonLines.record(Line(at: .now, text: $0)) })
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        _ = try await agentLines.first(from: 0) { $0.text.contains("node state success") }
        #expect(try await offThePool { try Self.state(server) } == "success")
        let converged = try StatusFile(path: status).read()
        #expect(converged.configDigest == InputDigest.of(config: try FileSystem.readText(config), labels: try FileSystem.readText(labels)))
        #expect(converged.wanted.types == ["nvidia-222"])

        // The label moves the plan: run wants mtty-2 now and starts creating (a tree of files, not a kernel:
        // the devices never appear, so the node is no longer `success`).
        let (agentMark, daemonMark) = (agentLines.count, daemonLines.count)
        let labelled = ContinuousClock.now
        _ = try await offThePool { try server.kubectl(["label", "node", "node-1", "profile=serial"]) }
        let written = try await agentLines.first(from: agentMark) { $0.text.contains("wrote \(labels)") }
        let pass = try await daemonLines.first(from: daemonMark) { $0.text.contains("in force: wants mtty-2") }
        // The first report about the new config in force (not the "not loaded yet" of the moment between).
        let moved = try await agentLines.first(from: agentMark) {
            $0.text.contains("node state") && !$0.text.contains("node state success") && !$0.text.contains("ConfigNotLoaded")
        }
        #expect(try StatusFile(path: status).read().wanted.types == ["mtty-2"])
        #expect(try await offThePool { try Self.state(server) } != "success")
        print("FIGURE label-to-labels-file \(Self.milliseconds(written.at - labelled)) ms")
        print("FIGURE label-to-daemon-pass \(Self.milliseconds(pass.at - labelled)) ms")
        print("FIGURE label-to-node-state \(Self.milliseconds(moved.at - labelled)) ms (\(moved.text))")
        // Idle: once that report is out, the agent gives back what start-up alone needed.
        _ = try await agentLines.first(from: agentMark) { $0.text.contains("settled:") && $0.at >= moved.at }
        print("FIGURE agent-idle-rss \(Self.residentKiB(agent.pid)) KiB")
        print("FIGURE agent-idle-rss-anon \(Self.residentKiB(agent.pid, field: "RssAnon:")) KiB")

        // SIGTERM: both stop promptly and cleanly; the agent says how many requests it sent.
        let agentStop = agentLines.count
        let stopping = ContinuousClock.now
        agent.signal(SIGTERM)
        #expect(try await offThePool { agent.waitUntilExit() } == .exited(0))
        print("FIGURE agent-sigterm-exit \(Self.milliseconds(.now - stopping)) ms")
        let requests = try await agentLines.first(from: agentStop) { $0.text.contains("requests to the API server") }
        print("FIGURE agent-requests \(requests.text)")
        daemon.signal(SIGTERM)
        #expect(try await offThePool { daemon.waitUntilExit() } == .exited(0))
    }

    /// The node's state label.
    static func state(_ server: KubeAPIServer) throws -> String {
        try server.kubectl(["get", "node", "node-1", "-o", #"jsonpath={.metadata.labels.mdev-reconciler\.io/state}"#])
    }

    /// A copy of the mtty example host, its Node, the KubeVirt CR, and a kubeconfig with the agent's token.
    static func prepare(server: KubeAPIServer, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/cluster", withIntermediateDirectories: true)
        let copy = try ChildProcess("/bin/cp", ["-a", Self.repository + "/contrib/example-hosts/mtty", directory + "/host"], environment: [:])
        #expect(copy.waitUntilExit() == .exited(0))

        try server.apply("""
            apiVersion: v1
            kind: Node
            metadata: {name: node-1, labels: {kubernetes.io/hostname: node-1}}
            """)
        // Globally a type this host has no card for (nothing to do here); serial-port nodes get mtty-2.
        try server.applyKubeVirt(configuration: "{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222], "
            + "nodeMediatedDeviceTypes: [{nodeSelector: {profile: serial}, mediatedDeviceTypes: [mtty-2]}]}}")
        _ = try server.agentKubeconfig(in: directory)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// VmRSS (or another field) of `pid`, from /proc.
    static func residentKiB(_ pid: pid_t, field: String = "VmRSS:") -> Int {
        let text = (try? FileSystem.readText("/proc/\(pid)/status")) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }
}
