import Foundation
import MdevTestSupport
import Testing

/// `contrib/kubernetes/`'s RBAC against a real API server: the agent's service account may do exactly what
/// the agent needs, with a token from the TokenRequest API as a pod gets it, and nothing else.
@Suite("The cluster manifests on a real API server", .serialized, .timeLimit(.minutes(2)))
struct ManifestRBACTests {

    @Test("The agent's service account: nodes, their status, events, the KubeVirt CR and its ConfigMap, and no more")
    func leastPrivilege() async throws {
        try await offThePool {
            let server = try KubeAPIServer.startWithAgentManifests()
            defer { server.stop() }
            let token = try server.serviceAccountToken("mdev-reconciler-agent", namespace: "mdev-reconciler")
            let granted: [(String, String, String?)] = [
                ("get", "nodes", nil), ("list", "nodes", nil), ("watch", "nodes", nil), ("patch", "nodes", nil),
                ("patch", "nodes/status", nil),
                ("create", "events.events.k8s.io", "default"), ("patch", "events.events.k8s.io", "default"),
                ("get", "kubevirts.kubevirt.io", "kubevirt"), ("list", "kubevirts.kubevirt.io", "kubevirt"),
                ("watch", "kubevirts.kubevirt.io", "kubevirt"),
                ("get", "configmaps", "mdev-reconciler"), ("list", "configmaps", "mdev-reconciler"), ("watch", "configmaps", "mdev-reconciler"),
            ]
            for (verb, resource, namespace) in granted {
                #expect(try server.allows(token: token, verb, resource, namespace: namespace), "\(verb) \(resource) \(namespace ?? "")")
            }
            let refused: [(String, String, String?)] = [
                ("update", "nodes", nil), ("delete", "nodes", nil), ("create", "nodes", nil), ("get", "nodes/status", nil),
                ("update", "nodes/status", nil), ("delete", "events.events.k8s.io", "default"), ("create", "events", "default"),
                ("patch", "kubevirts.kubevirt.io", "kubevirt"), ("get", "kubevirts.kubevirt.io", "default"),
                ("get", "configmaps", "kubevirt"), ("patch", "configmaps", "mdev-reconciler"), ("get", "secrets", "mdev-reconciler"),
                ("list", "pods", nil), ("create", "serviceaccounts/token", "mdev-reconciler"),
            ]
            for (verb, resource, namespace) in refused {
                #expect(try !server.allows(token: token, verb, resource, namespace: namespace), "\(verb) \(resource) \(namespace ?? "")")
            }
        }
    }
}

extension ManifestRBACTests {
    @Test("Both DaemonSets are valid objects the API server takes (validated by it; no kubelet runs them here)")
    func daemonSets() async throws {
        try await offThePool {
            let server = try KubeAPIServer.startWithAgentManifests()
            defer { server.stop() }
            for file in ["daemonset-host-mode.yaml", "daemonset-all-in-pod.yaml"] {
                try server.kubectl(["apply", "-f", KubeAPIServer.manifests + "/" + file])
            }
            let accounts = try server.kubectl(["get", "daemonsets", "-n", "mdev-reconciler", "-o", "jsonpath={.items[*].spec.template.spec.serviceAccountName}"])
            #expect(accounts == "mdev-reconciler-agent mdev-reconciler-agent")
        }
    }
}

extension KubeAPIServer {
    /// `contrib/kubernetes/` of this checkout.
    static let manifests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib/kubernetes").path

    /// A server with the KubeVirt CRD and namespace (the tests' stand-in for KubeVirt), the agent's namespace,
    /// account and RBAC, applied as a user would; returns once the CRD is established (its condition, with a
    /// deadline).
    static func startWithAgentManifests() throws -> KubeAPIServer {
        let server = try start()
        do {
            for file in ["testing/kubevirt-crd.yaml", "namespace.yaml", "rbac.yaml"] {
                try server.kubectl(["apply", "-f", manifests + "/" + file])
            }
            try server.kubectl(["wait", "--for", "condition=established", "--timeout", "60s", "crd/kubevirts.kubevirt.io"])
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// Runs `body` with a server started with the agent's manifests and a folder of its own (not yet made);
    /// stops the server and removes the folder afterwards, also when `body` throws.
    static func withAgentManifests(folder name: String, _ body: (KubeAPIServer, String) async throws -> Void) async throws {
        let server = try await offThePool { try KubeAPIServer.startWithAgentManifests() }
        let directory = temporaryPath(name + "-" + UUID().uuidString)
        func cleanUp() async {
            _ = try? await offThePool { server.stop() }
            try? FileManager.default.removeItem(atPath: directory)
        }
        do {
            try await body(server, directory)
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    /// Writes a token of the agent's service account (TokenRequest API) to `directory/token` and a kubeconfig
    /// naming it as its `tokenFile` (read again as it rotates); returns the kubeconfig's path.
    func agentKubeconfig(in directory: String) throws -> String {
        try serviceAccountToken("mdev-reconciler-agent", namespace: "mdev-reconciler")
            .write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "\(url)", certificate-authority: "\(caFile)"}}]
            users: [{name: agent, user: {tokenFile: token}}]
            contexts: [{name: c, context: {cluster: c, user: agent}}]
            current-context: c
            """.write(toFile: directory + "/kubeconfig", atomically: true, encoding: .utf8)
        return directory + "/kubeconfig"
    }

    /// Applies the KubeVirt CR `kubevirt/kubevirt` with `configuration` (YAML flow) as its
    /// `spec.configuration`, then sets its `status.phase` as virt-operator does once it has seen it.
    func applyKubeVirt(configuration: String, phase: String = "Deployed") throws {
        try apply("""
            apiVersion: kubevirt.io/v1
            kind: KubeVirt
            metadata: {name: kubevirt, namespace: kubevirt}
            spec:
              configuration: \(configuration)
            """)
        try kubectl(["patch", "kubevirt", "kubevirt", "-n", "kubevirt", "--subresource", "status", "--type", "merge",
                     "-p", #"{"status":{"phase":"\#(phase)"}}"#])
    }
}
