import Foundation
import MdevKube
import MdevSysfs
import MdevTestSupport
import Testing

/// The agent's HTTP client (Debian's libcurl) against a real API server: lists, watches from a list's
/// resourceVersion, a watch from a compacted one, a refused token, a server that is not there.
@Suite("The API client on a real API server", .serialized, .timeLimit(.minutes(2)))
struct KubeClientTests {
    func node(_ name: String, labels: [String: String] = [:]) -> String {
        let labels = labels.map { "    \($0.key): \"\($0.value)\"" }.joined(separator: "\n")
        return "apiVersion: v1\nkind: Node\nmetadata:\n  name: \(name)\n  labels:\n\(labels.isEmpty ? "    {}" : labels)\n"
    }

    @Test("List a Node, then watch it from the list's resourceVersion: a label set after the list arrives as MODIFIED")
    func listThenWatch() async throws {
        try await offThePool { [self] in
            let server = try KubeAPIServer.start()
            defer { server.stop() }
            try server.apply(node("node01", labels: ["kubernetes.io/hostname": "node01"]))
            let client = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken(server.adminToken))
            let list = try client.get("/api/v1/nodes?fieldSelector=metadata.name%3Dnode01")
            #expect(list.status == 200)
            let nodes = try JSONDecoder().decode(ObjectList<MetadataOnly>.self, from: Data(list.body))
            #expect(nodes.items.map(\.metadata.name) == ["node01"])
            let version = try #require(nodes.metadata.resourceVersion)
            // Set after the list: a watch from its resourceVersion sees it, however late the watch starts.
            try server.kubectl(["label", "node", "node01", "nvidia.com/gpu.product=A16"])
            var seen: [String] = []
            let status = try client.watch(
                "/api/v1/nodes?watch=true&allowWatchBookmarks=true&timeoutSeconds=30&fieldSelector=metadata.name%3Dnode01&resourceVersion=\(version)"
            ) { line in
                guard let event = WatchEvent<MetadataOnly>.decode(line) else { return true }
                seen.append("\(event.type) \(event.object.metadata.labels?["nvidia.com/gpu.product"] ?? "-")")
                return event.type != "MODIFIED"
            }
            #expect(status == 200)
            #expect(seen == ["MODIFIED A16"])
        }
    }

    @Test("A watch from a resourceVersion the server no longer holds ends with an ERROR event of code 410")
    func goneResourceVersion() async throws {
        try await offThePool {
            let server = try KubeAPIServer.start()
            defer { server.stop() }
            let client = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken(server.adminToken))
            func write(_ index: Int) throws -> String {
                let created = try client.send(HTTPRequest(
                    method: "POST", url: "/api/v1/namespaces/default/configmaps", contentType: "application/json",
                    body: #"{"metadata":{"name":"c\#(index)"}}"#))
                #expect(created.status == 201)
                return try JSONDecoder().decode(MetadataOnly.self, from: Data(created.body)).metadata.resourceVersion ?? ""
            }
            let old = try write(0)
            // The server compacts etcd every second, to the revision of the second before: the watch is asked
            // again (each for a second at most) with a write between, until the version is gone; a minute at most.
            var error: Status?
            let deadline = ContinuousClock.now + .seconds(60)
            var attempt = 1
            while error == nil && ContinuousClock.now < deadline {
                _ = try write(attempt)
                attempt += 1
                let status = try client.watch("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=\(old)") { line in
                    if let event = WatchEvent<Status>.decode(line), event.type == "ERROR" { error = event.object }
                    return error == nil
                }
                #expect(status == 200)
            }
            #expect(error?.code == 410, "\(String(describing: error))")
        }
    }

    @Test("A refused token is a 401; a server that is not there is a transport error, not a stop")
    func failures() async throws {
        try await offThePool {
            let server = try KubeAPIServer.start()
            defer { server.stop() }
            let refused = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken("not-a-token"))
            #expect(try refused.get("/api/v1/nodes").status == 401)
            let untrusted = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file("/etc/ssl/certs/ca-certificates.crt")), tokens: FixedToken(server.adminToken))
            let tls = #expect(throws: TransportError.self) { try untrusted.get("/api/v1/nodes") }
            #expect(tls?.stopped == false)
            let gone = KubeClient(server: "https://127.0.0.1:\(try KubeAPIServer.freePort())", credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken(nil))
            let refusedConnection = #expect(throws: TransportError.self) { try gone.get("/api/v1/nodes") }
            #expect(refusedConnection?.stopped == false)
            // A watch stopped before it started is a stop, and so is one stopped from another thread while it
            // runs (the agent's SIGTERM; how soon it ends is the chain test's FIGURE line).
            let client = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken(server.adminToken))
            let early = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken(server.adminToken))
            early.stop.stop()
            let stopped = #expect(throws: TransportError.self) {
                try early.watch("/api/v1/nodes?watch=true&timeoutSeconds=30") { _ in true }
            }
            #expect(stopped?.stopped == true)
            let firstEvent = DispatchSemaphore(value: 0)
            let events = LockedValue(0)
            DedicatedThread.start {
                // The namespaces the server made: a watch from no resourceVersion starts with them.
                _ = firstEvent.wait(timeout: .now() + 30)
                client.stop.stop()
            }
            let running = #expect(throws: TransportError.self) {
                try client.watch("/api/v1/namespaces?watch=true&timeoutSeconds=60") { _ in
                    if events.withLock({ $0 += 1; return $0 }) == 1 { firstEvent.signal() }
                    return true
                }
            }
            #expect(running?.stopped == true)
            #expect(events.withLock { $0 } >= 1)
        }
    }

    @Test("A rotated token: once the old one is refused (401), the file is read again and the request goes through")
    func rotatedToken() async throws {
        try await offThePool {
            let server = try KubeAPIServer.startWithAgentManifests()
            defer { server.stop() }
            // The first token is bound to a Secret: deleting the Secret revokes it, as rotation ends an old one.
            try server.kubectl(["create", "secret", "generic", "first", "-n", "mdev-reconciler"])
            let first = try server.kubectl([
                "create", "token", "mdev-reconciler-agent", "-n", "mdev-reconciler", "--bound-object-kind", "Secret", "--bound-object-name", "first",
            ])
            let file = temporaryPath("token-" + UUID().uuidString)
            defer { try? FileManager.default.removeItem(atPath: file) }
            try first.write(toFile: file, atomically: true, encoding: .utf8)
            // Read once an hour at most: only the 401 makes it read again here.
            let tokens = TokenSource(path: file, maximumAge: .seconds(3600))
            let client = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: tokens)
            #expect(try client.get("/api/v1/nodes").status == 200)
            let second = try server.serviceAccountToken("mdev-reconciler-agent", namespace: "mdev-reconciler")
            try second.write(toFile: file, atomically: true, encoding: .utf8)
            try server.kubectl(["delete", "secret", "first", "-n", "mdev-reconciler"])
            // Until the server refuses the first token (its informer learns of the deletion), with a deadline.
            let old = KubeClient(server: server.url, credentials: TLSCredentials(certificateAuthority: .file(server.caFile)), tokens: FixedToken(first))
            let deadline = ContinuousClock.now + .seconds(30)
            var refused = false
            while !refused && ContinuousClock.now < deadline { refused = try old.get("/api/v1/nodes").status == 401 }
            #expect(refused)
            #expect(try client.get("/api/v1/nodes").status == 200)
            #expect(tokens.token() == second)
        }
    }
}
