import Foundation
import Glibc
import MdevSysfs

/// A real Kubernetes API server for the cluster tests: Debian's `etcd` and a `kube-apiserver` built from
/// Debian's own source package (`contrib/kubernetes/apiserver/build.sh`, which `contrib/setup.sh --tests`
/// runs), on 127.0.0.1, with TLS from a CA of its own, RBAC authorization, service-account tokens, and an
/// admin token (group `system:masters`). Everything it writes is in one temporary directory, removed at stop.
public final class KubeAPIServer: Sendable {
    /// `https://127.0.0.1:PORT`.
    public let url: String
    /// The CA that signed the server's certificate.
    public let caFile: String
    /// A token of the group `system:masters`.
    public let adminToken: String
    /// A kubeconfig with the admin token, for `kubectl`.
    public let kubeconfig: String
    private let directory: String
    private let etcd: ChildProcess
    /// etcd's client URL (its JSON gateway serves `/v3/kv/...`).
    private let etcdURL: String
    /// The API server's process, replaced by ``restart(while:)``.
    private let server: LockedValue<ChildProcess>
    private let arguments: [String]

    /// Where `contrib/kubernetes/apiserver/build.sh` leaves the binary (`MDEV_KUBE_CACHE`).
    public static var binary: String {
        (ProcessInfo.processInfo.environment["MDEV_KUBE_CACHE"] ?? "/var/cache/mdev-reconciler-kube") + "/bin/kube-apiserver"
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Starts etcd and the API server, and returns once the server answers `/readyz` with `ok` (its RBAC
    /// roles are in place then).
    public static func start() throws -> KubeAPIServer {
        guard access(binary, X_OK) == 0 else {
            throw StartError(description: "no kube-apiserver at \(binary): run contrib/setup.sh --tests (it builds one from Debian's source)")
        }
        let directory = temporaryPath("kube-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            try run("/bin/sh", ["-c", certificates, "sh", directory])
            let adminToken = UUID().uuidString
            try "\(adminToken),admin,admin,system:masters\n".write(toFile: directory + "/tokens.csv", atomically: true, encoding: .utf8)
            let (etcdClient, etcdPeer, port) = (try freePort(), try freePort(), try freePort())
            let etcd = try ChildProcess("/usr/bin/etcd", [
                "--data-dir", directory + "/etcd", "--listen-client-urls", "http://127.0.0.1:\(etcdClient)",
                "--advertise-client-urls", "http://127.0.0.1:\(etcdClient)", "--listen-peer-urls", "http://127.0.0.1:\(etcdPeer)",
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(etcdPeer)",
                "--initial-cluster", "default=http://127.0.0.1:\(etcdPeer)", "--log-level", "error",
            ], environment: [:])
            let arguments = [
                "--etcd-servers", "http://127.0.0.1:\(etcdClient)", "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                "--secure-port", "\(port)", "--tls-cert-file", directory + "/server.crt", "--tls-private-key-file", directory + "/server.key",
                "--client-ca-file", directory + "/ca.crt", "--token-auth-file", directory + "/tokens.csv", "--authorization-mode", "RBAC",
                "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", directory + "/sa.pub",
                "--service-account-signing-key-file", directory + "/sa.key", "--api-audiences", "https://kubernetes.default.svc",
                "--service-cluster-ip-range", "10.96.0.0/16", "--cert-dir", directory + "/certs", "--v", "0",
                // As kubeadm and every distribution run it: privileged pods (the all-in-pod DaemonSet) are allowed.
                "--allow-privileged=true",
                // ConfigMaps not watch-cached, and etcd compacted every second: a resourceVersion a second old is
                // gone (410) as on a busy cluster, for the tests of a relist.
                "--watch-cache-sizes", "configmaps#0", "--etcd-compaction-interval", "1s",
            ]
            let server = try ChildProcess(binary, arguments, environment: [:])
            let kube = KubeAPIServer(
                url: "https://127.0.0.1:\(port)", directory: directory, adminToken: adminToken, etcd: etcd,
                etcdURL: "http://127.0.0.1:\(etcdClient)", server: server, arguments: arguments)
            try kube.writeKubeconfig()
            do {
                try kube.waitUntilReady()
            } catch {
                kube.stop()
                throw error
            }
            return kube
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private init(
        url: String, directory: String, adminToken: String, etcd: ChildProcess, etcdURL: String, server: ChildProcess, arguments: [String]
    ) {
        self.url = url
        self.directory = directory
        self.adminToken = adminToken
        self.etcd = etcd
        self.etcdURL = etcdURL
        self.server = LockedValue(server)
        self.arguments = arguments
        caFile = directory + "/ca.crt"
        kubeconfig = directory + "/kubeconfig"
    }

    /// Stops the server and etcd and removes their files.
    public func stop() {
        for process in [server.withLock { $0 }, etcd] {
            process.signal(SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// curl waits for the server: connection refused and 500 (not ready yet) are retried, for a minute at most.
    private func waitUntilReady() throws {
        let ready = try Self.run("/usr/bin/curl", [
            "-fsS", "--retry", "600", "--retry-connrefused", "--retry-delay", "0", "--retry-max-time", "60",
            "--cacert", caFile, "-H", "Authorization: Bearer \(adminToken)", url + "/readyz",
        ])
        guard ready == "ok" else { throw StartError(description: "kube-apiserver did not get ready: \(ready)") }
    }

    /// Stops the API server (etcd keeps its data), runs `body` while it is down, starts it again on the same
    /// port and returns once it is ready.
    public func restart(while body: () throws -> Void) throws {
        let old = server.withLock { $0 }
        old.signal(SIGTERM)
        old.waitUntilExit()
        try body()
        let new = try ChildProcess(Self.binary, arguments, environment: [:])
        server.withLock { $0 = new }
        try waitUntilReady()
    }

    /// Writes a key of its own into etcd (a new revision) and compacts etcd at that revision: every
    /// resourceVersion handed out before is gone, as on a busy cluster after minutes. Through etcd's JSON
    /// gateway, so it works while the API server is down.
    public func compactEtcd() throws {
        let put = try Self.run("/usr/bin/curl", [
            "-fsS", "-X", "POST", etcdURL + "/v3/kv/put", "-d", #"{"key": "L3Rlc3RzL2NvbXBhY3Q=", "value": "eA=="}"#,
        ])
        struct Answer: Decodable { struct Header: Decodable { var revision: String }; var header: Header }
        let revision = try JSONDecoder().decode(Answer.self, from: Data(put.utf8)).header.revision
        try Self.run("/usr/bin/curl", [
            "-fsS", "-X", "POST", etcdURL + "/v3/kv/compaction", "-d", #"{"revision": "\#(revision)", "physical": true}"#,
        ])
    }

    /// `kubectl` against this server as the admin; its stdout.
    @discardableResult
    public func kubectl(_ arguments: [String]) throws -> String {
        try Self.run("/usr/bin/kubectl", ["--kubeconfig", kubeconfig] + arguments, environment: kubectlEnvironment)
    }

    /// `kubectl apply` of `manifest` (YAML) as the admin.
    public func apply(_ manifest: String) throws {
        let file = directory + "/manifest-" + UUID().uuidString + ".yaml"
        try manifest.write(toFile: file, atomically: true, encoding: .utf8)
        try kubectl(["apply", "-f", file])
    }

    /// Whether `token` may do `verb` on `resource` (`nodes/status`: a subresource; in `namespace`), as the
    /// server's authorizer answers (`kubectl auth can-i`: a SelfSubjectAccessReview).
    public func allows(token: String, _ verb: String, _ resource: String, namespace: String? = nil) throws -> Bool {
        let parts = resource.split(separator: "/").map(String.init)
        let arguments = ["--server", url, "--certificate-authority", caFile, "--token", token, "auth", "can-i", verb, parts[0]]
            + (parts.count > 1 ? ["--subresource", parts[1]] : []) + (namespace.map { ["-n", $0] } ?? [])
        let result = try ChildProcess("/usr/bin/kubectl", arguments, environment: kubectlEnvironment).output()
        switch result.termination {
        case .exited(0): return true
        case .exited(1) where result.stdout.hasPrefix("no"): return false
        default: throw StartError(description: "kubectl auth can-i \(verb) \(resource): \(result.termination) \(result.stderr)")
        }
    }

    /// kubectl's home (its discovery cache) is this server's directory: nothing is left elsewhere.
    private var kubectlEnvironment: [String: String] { ["PATH": "/usr/bin:/bin", "HOME": directory] }

    /// A token of the service account `name` in `namespace`, from the TokenRequest API, as a pod's
    /// projected token is.
    public func serviceAccountToken(_ name: String, namespace: String) throws -> String {
        try kubectl(["create", "token", name, "-n", namespace, "--duration", "1h"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func writeKubeconfig() throws {
        try """
            apiVersion: v1
            kind: Config
            clusters: [{name: test, cluster: {server: "\(url)", certificate-authority: "\(caFile)"}}]
            users: [{name: admin, user: {token: "\(adminToken)"}}]
            contexts: [{name: test, context: {cluster: test, user: admin}}]
            current-context: test

            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    }

    /// Runs a program to its end; its stdout, trimmed. A status other than 0 throws with its stderr.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"]) throws -> String {
        let child = try ChildProcess(executable, arguments, environment: environment)
        let result = child.output()
        guard result.termination == .exited(0) else {
            throw StartError(description: "\(([executable] + arguments).joined(separator: " ")): \(result.termination): \(result.stderr)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StartError(description: "bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A CA, the server's certificate for 127.0.0.1 signed by it, and the service accounts' signing key
    /// pair, in the directory `$1`.
    private static let certificates = """
        set -e
        cd "$1"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=mdev-reconciler-test-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=kube-apiserver 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        """
}
