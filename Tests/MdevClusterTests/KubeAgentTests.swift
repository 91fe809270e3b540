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
/// daemon would. The test waits on the agent's own log entries (it logs once a file is written and once a
/// report or an Event is on the server), never on time.
@Suite("kube-agent on a real API server", .serialized, .timeLimit(.minutes(4)))
struct KubeAgentTests {
    final class Setup: Sendable {
        let server: KubeAPIServer
        let directory: String
        let agent: KubeAgent
        let logs = Recorder<RecordingLogHandler.Entry>()
        let finished = DispatchSemaphore(value: 0)
        var configFile: String { directory + "/config.yaml" }
        var labelsFile: String { directory + "/labels" }
        var statusFile: String { directory + "/status.json" }

        /// - Parameter prepare: what the cluster holds before the agent starts, beside its Node.
        init(restartVirtHandler: Bool = false, prepare: (KubeAPIServer) throws -> Void = { _ in }) throws {
            server = try KubeAPIServer.startWithAgentManifests()
            try server.apply("""
                apiVersion: v1
                kind: Node
                metadata: {name: node-1, labels: {gpu-profile: standard, kubernetes.io/hostname: node-1}}
                """)
            try prepare(server)
            directory = temporaryPath("agent-" + UUID().uuidString)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let kubeconfig = try server.agentKubeconfig(in: directory)
            let client = try ClusterAccess.client(kubeconfig: kubeconfig, environment: [:], userAgent: "test")
            agent = KubeAgent(
                client: client,
                options: .init(nodeName: "node-1", kubevirtNamespace: "kubevirt", namespace: "mdev-reconciler",
                               configFile: directory + "/config.yaml", labelsFile: directory + "/labels", statusFile: directory + "/status.json",
                               restartVirtHandler: restartVirtHandler),
                logger: Logger(label: "test") { [logs] _ in RecordingLogHandler(entries: logs) })
            DedicatedThread.start { [agent, finished] in
                try? agent.run()
                finished.signal()
            }
        }

        /// Stops the agent and the server (off the pool: both wait for processes).
        func stop() async {
            _ = try? await offThePool { [self] in
                agent.stop.stop()
                _ = finished.wait(timeout: .now() + 10)
                server.stop()
                try? FileManager.default.removeItem(atPath: directory)
            }
        }

        func kubectl(_ arguments: [String]) async throws -> String {
            try await offThePool { [server] in try server.kubectl(arguments) }
        }

        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

        /// The first log message at `mark` or later that contains every one of `texts`.
        @discardableResult
        func logged(_ texts: String..., from mark: Int, within seconds: Double = 60) async throws -> String {
            try await logs.first(from: mark, within: seconds) { entry in texts.allSatisfy { entry.message.contains($0) } }.message
        }

        func kubeVirt(_ configuration: String) async throws {
            try await offThePool { [server] in try server.applyKubeVirt(configuration: configuration) }
        }

        /// The Node as the server has it.
        func node() async throws -> KubeObject {
            try JSONDecoder().decode(KubeObject.self, from: Data(try await kubectl(["get", "node", "node-1", "-o", "json"]).utf8))
        }

        func state() async throws -> String? { try await node().metadata.labels?["mdev-reconciler.io/state"] }

        /// The condition's status, message and last transition.
        func condition() async throws -> (status: String, message: String, since: String)? {
            let conditions = try await node().value["status"]?["conditions"]?.array ?? []
            guard let condition = conditions.first(where: { $0["type"]?.string == "MediatedDevicesReady" }) else { return nil }
            return (condition["status"]?.string ?? "", condition["message"]?.string ?? "", condition["lastTransitionTime"]?.string ?? "")
        }

        /// Writes a status file as the daemon would after converging to the files now on disk.
        func daemonConverged() throws {
            let digest = InputDigest.of(config: read(configFile) ?? "", labels: read(labelsFile) ?? "")
            let status = DaemonStatus(
                pid: 1, updated: Date(), node: "node-1", configFile: configFile, configGeneration: 1, configDigest: digest, configError: nil,
                wanted: WantedTypes(types: ["nvidia-222"], source: .global), passes: 1,
                parents: [DaemonStatus.ParentStatus(parent: "0000:65:00.0", model: "Tesla T4", type: "nvidia-222", devices: [], blocked: [],
                                                    lastError: nil, stuck: false, toCreate: 0, toRemove: 0)])
            try StatusFile(path: statusFile).write(status)
        }
    }

    @Test("CR and labels into files, the node's state back, a bad field named, KubeVirt's handling respected, an outage survived")
    func wholeCycle() async throws {
        let setup = try await offThePool { try Setup() }
        do {
            try await cycle(setup)
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    func cycle(_ setup: Setup) async throws {
        // No CR yet: nothing is written, and the node says why.
        try await setup.logged("node state failed: KubeVirtCRNotFound", from: 0)
        #expect(try await setup.state() == "failed")
        #expect(setup.read(setup.configFile) == nil)

        // KubeVirt's handling off: the lists are the daemon's, without KubeVirt's flag.
        var mark = setup.logs.count
        try await setup.kubeVirt(#"{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222], nodeMediatedDeviceTypes: [{nodeSelector: {gpu-profile: compute}, mediatedDeviceTypes: [nvidia-228]}]}}"#)
        try await setup.logged("wrote", setup.configFile, from: mark)
        let config = try ConfigParser.parse(try #require(setup.read(setup.configFile)), file: "c").config
        #expect(config.mediatedDevices.enabled)
        #expect(config.mediatedDevices.mediatedDeviceTypes == ["nvidia-222"])
        #expect(config.mediatedDevices.nodeMediatedDeviceTypes.count == 1)
        #expect(try LabelsFileParser.parse(try #require(setup.read(setup.labelsFile)), file: "l").contains(Label(key: "gpu-profile", value: "standard")))
        try await setup.logged("node state pending: DaemonNotReporting", from: mark)
        #expect(try await setup.state() == "pending")

        mark = setup.logs.count
        try setup.daemonConverged()
        try await setup.logged("node state success", from: mark)
        #expect(try await setup.state() == "success")
        #expect(try await setup.condition()?.status == "True")
        let digest = InputDigest.of(config: setup.read(setup.configFile) ?? "", labels: setup.read(setup.labelsFile) ?? "")
        let summary = try await setup.node().metadata.annotations?["mdev-reconciler.io/summary"] ?? ""
        #expect(summary.contains(#""configDigest":"\#(digest)""#), "\(summary)")

        // A label change reaches the labels file; the node is pending until the daemon read it.
        mark = setup.logs.count
        _ = try await setup.kubectl(["label", "node", "node-1", "gpu-profile=compute", "--overwrite"])
        try await setup.logged("wrote", setup.labelsFile, from: mark)
        #expect(setup.read(setup.labelsFile)?.contains("gpu-profile=compute") == true)
        try await setup.logged("node state pending: ConfigNotLoaded", from: mark)

        // A field that does not parse: both files stay, and the condition and an Event name the field.
        let (configBefore, labelsBefore) = (setup.read(setup.configFile), setup.read(setup.labelsFile))
        mark = setup.logs.count
        try await setup.kubeVirt(#"{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222, 7]}}"#)
        try await setup.logged("node state failed: ConfigUnreadable", "mediatedDeviceTypes[1]", from: mark)
        #expect(try await setup.state() == "failed")
        let condition = try await setup.condition()
        #expect(condition?.status == "False")
        #expect(condition?.message.contains("spec.configuration.mediatedDevicesConfiguration.mediatedDeviceTypes[1]") == true)
        #expect(setup.read(setup.configFile) == configBefore)
        #expect(setup.read(setup.labelsFile) == labelsBefore)
        try await setup.logged("recorded the event ConfigUnreadable", from: mark)
        let notes = try await setup.kubectl(["get", "events.events.k8s.io", "-n", "kube-system", "-o", "jsonpath={.items[*].note}"])
        #expect(notes.contains("mediatedDeviceTypes[1]"))

        // KubeVirt's handling on: a config that manages nothing.
        mark = setup.logs.count
        try await setup.kubeVirt(#"{mediatedDevicesConfiguration: {mediatedDeviceTypes: [nvidia-222]}}"#)
        try await setup.logged("node state kubevirt-managed", from: mark)
        #expect(try await setup.state() == "kubevirt-managed")
        let handedOff = try ConfigParser.parse(try #require(setup.read(setup.configFile)), file: "c").config
        #expect(!handedOff.mediatedDevices.enabled)

        // The API server goes away: the files stay as they are. Meanwhile etcd is compacted past every
        // resourceVersion the agent holds: back, each watch is told 410 and lists again.
        let (config2, labels2) = (setup.read(setup.configFile), setup.read(setup.labelsFile))
        mark = setup.logs.count
        try await offThePool { [setup] in
            try setup.server.restart {
                try setup.daemonConverged()
                try setup.server.compactEtcd()
            }
        }
        #expect(setup.logs.all.dropFirst(mark).contains { $0.message.contains("the config and labels files stay as they are") })
        #expect(setup.read(setup.configFile) == config2)
        #expect(setup.read(setup.labelsFile) == labels2)
        for path in ["/api/v1/nodes", "/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts", "/api/v1/namespaces/mdev-reconciler/configmaps"] {
            // After the outage each watch waits out its backoff (up to 30 s) before it is told 410.
            try await setup.logged("watch \(path) from resourceVersion", "expired, listing again", from: mark, within: 180)
        }
        mark = setup.logs.count
        _ = try await setup.kubectl(["label", "node", "node-1", "zone=rack-7"])
        try await setup.logged("wrote", setup.labelsFile, from: mark)
        #expect(setup.read(setup.labelsFile)?.contains("zone=rack-7") == true)
    }

    @Test("A restarted agent keeps the condition's lastTransitionTime while its status stays; a new status gets a new time")
    func transitionKept() async throws {
        // As an agent before this one left it: not ready since 2020.
        let setup = try await offThePool {
            try Setup { server in
                try server.kubectl(["patch", "node", "node-1", "--subresource", "status", "--type", "merge", "-p", #"""
                    {"status": {"conditions": [{"type": "MediatedDevicesReady", "status": "False", "reason": "KubeVirtCRNotFound",
                     "message": "before", "lastTransitionTime": "2020-01-01T00:00:00Z", "lastHeartbeatTime": "2020-01-01T00:00:00Z"}]}}
                    """#])
            }
        }
        do {
            try await setup.logged("node state failed: KubeVirtCRNotFound", from: 0)
            let kept = try await setup.condition()
            #expect(kept?.status == "False")
            #expect(kept?.since == "2020-01-01T00:00:00Z")
            #expect(kept?.message != "before")
            // Ready now: the status changed, and so does its time.
            let mark = setup.logs.count
            try await setup.kubeVirt(#"{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222]}}"#)
            try await setup.logged("wrote", setup.configFile, from: mark)
            try setup.daemonConverged()
            try await setup.logged("node state success", from: mark)
            let moved = try await setup.condition()
            #expect(moved?.status == "True")
            #expect(moved?.since.hasPrefix("20") == true && moved?.since != "2020-01-01T00:00:00Z")
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }

    @Test("--restart-virt-handler: once the node converged to other devices, its own virt-handler pod is deleted, no other")
    func virtHandlerRestart() async throws {
        let setup = try await offThePool { try Setup(restartVirtHandler: true) }
        do {
            try await offThePool { [server = setup.server] in
                try server.kubectl(["apply", "-f", KubeAPIServer.manifests + "/rbac-virt-handler-restart.yaml"])
                // Pods need their namespace's default service account, which no controller manager makes here.
                try server.kubectl(["create", "serviceaccount", "default", "-n", "kubevirt"])
                for (pod, node) in [("virt-handler-a", "node-1"), ("virt-handler-b", "node-2")] {
                    try server.apply("""
                        apiVersion: v1
                        kind: Pod
                        metadata: {name: \(pod), namespace: kubevirt, labels: {kubevirt.io: virt-handler}}
                        spec: {nodeName: \(node), automountServiceAccountToken: false, containers: [{name: virt-handler, image: virt-handler}]}
                        """)
                }
            }
            let mark = setup.logs.count
            try await setup.kubeVirt("{mediatedDevicesConfiguration: {enabled: false, mediatedDeviceTypes: [nvidia-222]}}")
            try await setup.logged("wrote", setup.configFile, from: mark)
            try setup.daemonConverged()
            try await setup.logged("deleted its virt-handler pod (virt-handler-a)", from: mark)
            // No kubelet runs here: the deleted pod waits for it, marked; the other node's is untouched.
            let marked = try await setup.kubectl(["get", "pods", "-n", "kubevirt", "-o", #"jsonpath={range .items[*]}{.metadata.name}={.metadata.deletionTimestamp} {end}"#])
            let pods = marked.split(separator: " ")
            #expect(pods.contains { $0.hasPrefix("virt-handler-a=2") })
            #expect(pods.contains("virt-handler-b="))
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }
}
