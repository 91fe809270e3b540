import Foundation
import Logging
import MdevDaemon
import MdevKube
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

/// The agent against a real API server, with the token of the service account the manifests define (so a
/// missing permission fails here), files in a scratch directory, and a status file the test writes as the
/// daemon would.
@Suite("kube-agent on a real API server", .serialized, .timeLimit(.minutes(4)))
struct KubeAgentTests {
    final class Setup: Sendable {
        let server: KubeAPIServer
        let directory: String
        let agent: KubeAgent
        let finished = DispatchSemaphore(value: 0)
        var configFile: String { directory + "/config.yaml" }
        var labelsFile: String { directory + "/labels" }
        var statusFile: String { directory + "/status.json" }

        init() throws {
            server = try KubeAPIServer.start()
            try server.applyAgentManifests()
            try server.apply("""
                apiVersion: v1
                kind: Node
                metadata: {name: node-1, labels: {gpu-profile: standard, kubernetes.io/hostname: node-1}}
                """)
            directory = temporaryPath("agent-" + UUID().uuidString)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tokenFile = directory + "/token"
            try server.serviceAccountToken("mdev-reconciler-agent", namespace: "mdev-reconciler").write(toFile: tokenFile, atomically: true, encoding: .utf8)
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "\(server.url)", certificate-authority: "\(server.caFile)"}}]
                users: [{name: agent, user: {tokenFile: token}}]
                contexts: [{name: c, context: {cluster: c, user: agent}}]
                current-context: c
                """.write(toFile: directory + "/kubeconfig", atomically: true, encoding: .utf8)
            let client = try ClusterAccess.client(kubeconfig: directory + "/kubeconfig", environment: [:], userAgent: "test")
            agent = KubeAgent(
                client: client,
                options: .init(nodeName: "node-1", kubevirtNamespace: "kubevirt", namespace: "mdev-reconciler",
                               configFile: directory + "/config.yaml", labelsFile: directory + "/labels", statusFile: directory + "/status.json"),
                logger: Logger(label: "test"))
            DedicatedThread.start { [agent, finished] in
                try? agent.run()
                finished.signal()
            }
        }

        func stop() {
            agent.stop.stop()
            _ = finished.wait(timeout: .now() + 10)
            server.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

        /// Waits (with a deadline, polling the file or the server) until `condition` holds.
        func eventually(_ what: String, within seconds: Double = 20, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return }
                usleep(20_000)
            }
            Issue.record("not within \(seconds) s: \(what); the Node: \((try? server.kubectl(["get", "node", "node-1", "-o", "yaml"])) ?? "?")")
            throw CancellationError()
        }

        func kubeVirt(_ configuration: String, phase: String = "Deployed") throws {
            try server.apply("""
                apiVersion: kubevirt.io/v1
                kind: KubeVirt
                metadata: {name: kubevirt, namespace: kubevirt}
                spec:
                  configuration: \(configuration)
                """)
            // As virt-operator does once it has seen the CR (status is a subresource).
            try server.kubectl(["patch", "kubevirt", "kubevirt", "-n", "kubevirt", "--subresource", "status", "--type", "merge",
                                "-p", #"{"status":{"phase":"\#(phase)"}}"#])
        }

        func node(_ jsonPath: String) throws -> String {
            try server.kubectl(["get", "node", "node-1", "-o", "jsonpath=\(jsonPath)"])
        }

        var state: String { (try? node("{.metadata.labels.mdev-reconciler\\.io/state}")) ?? "" }
        var condition: String { (try? node("{.status.conditions[?(@.type==\"MediatedDevicesReady\")].status} {.status.conditions[?(@.type==\"MediatedDevicesReady\")].message}")) ?? "" }

        /// Writes a status file as the daemon would after converging to the files now on disk.
        func daemonConverged(blocked: [String] = []) throws {
            let digest = InputDigest.of(config: read(configFile) ?? "", labels: read(labelsFile) ?? "")
            let status = DaemonStatus(
                pid: 1, updated: Date(), node: "node-1", configFile: configFile, configGeneration: 1, configDigest: digest, configError: nil,
                wanted: WantedTypes(types: ["nvidia-222"], source: .global), passes: 1,
                parents: [DaemonStatus.ParentStatus(parent: "0000:65:00.0", model: "Tesla T4", type: "nvidia-222", devices: [], blocked: blocked,
                                                    lastError: nil, stuck: false, toCreate: 0, toRemove: 0)])
            try StatusFile(path: statusFile).write(status)
        }
    }

    @Test("CR and labels into files, the node's state back, a bad field named, KubeVirt's handling respected, an outage survived")
    func wholeCycle() throws {
        let setup = try Setup()
        defer { setup.stop() }
        // No CR yet: nothing is written, and the node says why.
        try setup.eventually("the node reports the missing CR") { setup.state == "failed" }
        #expect(setup.read(setup.configFile) == nil)

        // KubeVirt's handling off: the lists are the daemon's, without KubeVirt's flag.
        try setup.kubeVirt(#"{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222], nodeMediatedDeviceTypes: [{nodeSelector: {gpu-profile: compute}, mediatedDeviceTypes: [nvidia-228]}]}}"#)
        try setup.eventually("the config is written") { setup.read(setup.configFile)?.contains("\"nvidia-222\"") == true }
        let config = try ConfigParser.parse(try #require(setup.read(setup.configFile)), file: "c").config
        #expect(config.mediatedDevices.enabled)
        #expect(config.mediatedDevices.nodeMediatedDeviceTypes.count == 1)
        #expect(try LabelsFileParser.parse(try #require(setup.read(setup.labelsFile)), file: "l").contains(Label(key: "gpu-profile", value: "standard")))
        try setup.eventually("pending until the daemon converged") { setup.state == "pending" }

        try setup.daemonConverged()
        try setup.eventually("success once the daemon converged to what was written") {
            setup.state == "success" && setup.condition.hasPrefix("True ")
        }
        let node = try JSONDecoder().decode(KubeObject.self, from: Data(try setup.server.kubectl(["get", "node", "node-1", "-o", "json"]).utf8))
        let summary = node.metadata.annotations?["mdev-reconciler.io/summary"] ?? ""
        #expect(summary.contains(#""configDigest":"\#(InputDigest.of(config: setup.read(setup.configFile) ?? "", labels: setup.read(setup.labelsFile) ?? ""))""#), "\(summary)")

        // A label change reaches the labels file.
        try setup.server.kubectl(["label", "node", "node-1", "gpu-profile=compute", "--overwrite"])
        try setup.eventually("the label change in the labels file", within: 5) { setup.read(setup.labelsFile)?.contains("gpu-profile=compute") == true }
        try setup.eventually("pending: the daemon has not read it") { setup.state == "pending" }

        // A field that does not parse: both files stay, and the condition and an Event name the field.
        let (configBefore, labelsBefore) = (setup.read(setup.configFile), setup.read(setup.labelsFile))
        try setup.kubeVirt(#"{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222, 7]}}"#)
        try setup.eventually("failed, naming the field") { setup.state == "failed" && setup.condition.contains("mediatedDeviceTypes[1]") }
        #expect(setup.read(setup.configFile) == configBefore)
        #expect(setup.read(setup.labelsFile) == labelsBefore)
        try setup.eventually("an Event names the field") {
            try setup.server.kubectl(["get", "events.events.k8s.io", "-n", "kube-system", "-o", "jsonpath={.items[*].note}"]).contains("mediatedDeviceTypes[1]")
        }

        // KubeVirt's handling on: a config that manages nothing.
        try setup.kubeVirt(#"{mediatedDevicesConfiguration: {mediatedDeviceTypes: [nvidia-222]}}"#)
        try setup.eventually("kubevirt-managed") { setup.state == "kubevirt-managed" }
        let handedOff = try ConfigParser.parse(try #require(setup.read(setup.configFile)), file: "c").config
        #expect(!handedOff.mediatedDevices.enabled)

        // The API server goes away: the files stay as they are; back, the watches resume.
        let (config2, labels2) = (setup.read(setup.configFile), setup.read(setup.labelsFile))
        try setup.server.restart {
            try setup.daemonConverged()
            #expect(setup.read(setup.configFile) == config2)
            #expect(setup.read(setup.labelsFile) == labels2)
        }
        try setup.server.kubectl(["label", "node", "node-1", "zone=rack-7"])
        try setup.eventually("the watch resumed after the restart", within: 60) { setup.read(setup.labelsFile)?.contains("zone=rack-7") == true }
    }
}
