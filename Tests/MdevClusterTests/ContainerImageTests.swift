import Foundation
import Glibc
import MdevDaemon
import MdevModel
import MdevSysfs
import MdevTestSupport
import Testing

private let imageArchive = ProcessInfo.processInfo.environment["MDEV_RECONCILER_IMAGE"]

/// The OCI image `contrib/kubernetes/image/build.sh` makes from the Debian package, run by runc (an OCI runtime,
/// as the kubelet's container runtime runs it) with each container's spec taken from the DaemonSet manifests.
/// Runs when `MDEV_RECONCILER_IMAGE` names the image's archive (`.ci/run` builds it and sets it).
@Suite(
    "The image under runc", .serialized, .timeLimit(.minutes(4)),
    .enabled(if: imageArchive != nil, "MDEV_RECONCILER_IMAGE names no image (contrib/kubernetes/image/build.sh)"))
struct ContainerImageTests {
    static let archive = imageArchive

    @Test("The image's own entrypoint and command: the program's help, as the nonroot user")
    func entrypoint() async throws {
        let directory = temporaryPath("image-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let image = try await offThePool { try UnpackedImage(archive: try #require(Self.archive), directory: directory) }
        let process = try #require(image.config["process"] as? [String: Any])
        let user = try #require(process["user"] as? [String: Any])
        #expect(user["uid"] as? Int == 65532 && user["gid"] as? Int == 65532)

        let container = try image.container("entrypoint", process: [:], namespaces: nil, mounts: [])
        let result = try await offThePool { try container.run().output() }
        #expect(result.termination == .exited(0), "\(result.stderr)")
        #expect(result.stdout.contains("kube-agent"), "\(result.stdout)")
    }

    @Test("The all-in-pod DaemonSet's two containers: the node reads success, a label change moves the plan, SIGTERM ends both")
    func allInPod() async throws {
        try await KubeAPIServer.withAgentManifests(folder: "image") { try await allInPod(server: $0, directory: $1) }
    }

    @Test("The host-mode DaemonSet's agent: as its user, with the service account's credentials, it writes the files and reports; SIGTERM ends it")
    func hostMode() async throws {
        try await KubeAPIServer.withAgentManifests(folder: "image") { server, directory in
            let (kubelet, image) = try await Self.node(server: server, directory: directory)
            let pod = try await kubelet.pod(server: server, manifest: "daemonset-host-mode.yaml")
            let lines = Recorder<String>()
            let agent = try kubelet.start(pod, container: "kube-agent", image: image) { lines.record($0) }
            defer { agent.stop() }
            // No daemon runs here (on a host, systemd runs it): the node is pending until it reports.
            try await Self.wait(lines, from: 0) { $0.contains("node state pending: DaemonNotReporting") }
            #expect(try await offThePool { try ClusterChainTests.state(server) } == "pending")
            let owner = try FileManager.default.attributesOfItem(atPath: directory + "/cluster/config.yaml")[.ownerAccountID] as? Int
            #expect(owner == 65532)
            agent.process.signal(SIGTERM)
            #expect(try await offThePool { agent.process.waitUntilExit() } == .exited(0), "\(lines.all.suffix(5))")
        }
    }

    func allInPod(server: KubeAPIServer, directory: String) async throws {
        let (kubelet, image) = try await Self.node(server: server, directory: directory)
        let pod = try await kubelet.pod(server: server, manifest: "daemonset-all-in-pod.yaml")
        let nonroot = 65532

        let agentLines = Recorder<String>()
        let agent = try kubelet.start(pod, container: "kube-agent", image: image) { agentLines.record($0) }
        defer { agent.stop() }
        try await Self.wait(agentLines, from: 0) { $0.contains("wrote /etc/mdev-reconciler/cluster/config.yaml") }
        let daemonLines = Recorder<String>()
        let daemon = try kubelet.start(pod, container: "daemon", image: image) { daemonLines.record($0) }
        defer { daemon.stop() }
        try await Self.wait(agentLines, from: 0, also: daemonLines) { $0.contains("node state success") }
        #expect(try await offThePool { try ClusterChainTests.state(server) } == "success")
        // The daemon knows the Node's name (not the pod's hostname): its derived UUIDs and selectors use it.
        #expect(daemonLines.all.contains { $0.contains("starting: node node-1,") }, "\(daemonLines.all.prefix(3))")
        // The agent wrote as its own user, the daemon converged to that config.
        let owner = try FileManager.default.attributesOfItem(atPath: directory + "/cluster/labels")[.ownerAccountID] as? Int
        #expect(owner == nonroot)
        let status = try StatusFile(path: directory + "/run/status.json").read()
        #expect(status.wanted.types == ["nvidia-222"])
        #expect(status.configDigest == InputDigest.of(
            config: try FileSystem.readText(directory + "/cluster/config.yaml"), labels: try FileSystem.readText(directory + "/cluster/labels")))

        let mark = daemonLines.count
        _ = try await offThePool { try server.kubectl(["label", "node", "node-1", "profile=serial"]) }
        try await Self.wait(daemonLines, from: mark) { $0.contains("in force: wants mtty-2") }

        // The kubelet stops a pod with SIGTERM; runc passes it on. The agent is its container's first process.
        agent.process.signal(SIGTERM)
        #expect(try await offThePool { agent.process.waitUntilExit() } == .exited(0), "\(agentLines.all.suffix(5))")
        daemon.process.signal(SIGTERM)
        #expect(try await offThePool { daemon.process.waitUntilExit() } == .exited(0), "\(daemonLines.all.suffix(5))")
    }

    /// The image unpacked, the mtty example host, its Node and the KubeVirt CR, and what the kubelet provides:
    /// the hostPath volumes (here folders of the test), the service account's token, CA and namespace, the API
    /// server's address, the downward API's fields.
    static func node(server: KubeAPIServer, directory: String) async throws -> (PodEmulation, UnpackedImage) {
        let image = try await offThePool { try UnpackedImage(archive: try #require(Self.archive), directory: directory) }
        try await offThePool { try ClusterChainTests.prepare(server: server, directory: directory) }
        for folder in ["cluster", "run", "state", "serviceaccount"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
        }
        // Each host is prepared so (the manifests' comments): the agent's user owns its folder.
        #expect(chown(directory + "/cluster", 65532, 65532) == 0)
        let token = try await offThePool { try server.serviceAccountToken("mdev-reconciler-agent", namespace: "mdev-reconciler") }
        try token.write(toFile: directory + "/serviceaccount/token", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: server.caFile, toPath: directory + "/serviceaccount/ca.crt")
        try "mdev-reconciler".write(toFile: directory + "/serviceaccount/namespace", atomically: true, encoding: .utf8)
        let hostPaths = [
            "/sys": directory + "/host/sys", "/etc/mdev-reconciler/cluster": directory + "/cluster",
            "/run/mdev-reconciler": directory + "/run", "/var/lib/mdev-reconciler": directory + "/state",
            "/etc/machine-id": directory + "/host/etc/machine-id",
        ]
        let port = try #require(server.url.split(separator: ":").last.map(String.init))
        let kubelet = PodEmulation(
            hostPaths: hostPaths, serviceAccount: directory + "/serviceaccount",
            environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port],
            fields: ["spec.nodeName": "node-1", "metadata.namespace": "mdev-reconciler"])
        return (kubelet, image)
    }

    /// Waits for a line of a container's stderr; past the deadline, fails with the last lines of it (and of
    /// `also`, the other container's).
    static func wait(
        _ lines: Recorder<String>, from start: Int, also other: Recorder<String>? = nil,
        where predicate: @escaping @Sendable (String) -> Bool
    ) async throws {
        do {
            _ = try await lines.first(from: start, where: predicate)
        } catch {
            let others = other.map { "\nthe other container's:\n" + $0.all.suffix(15).joined(separator: "\n") } ?? ""
            let text: String = "no such line; last lines:\n" + lines.all.suffix(15).joined(separator: "\n") + others
            Issue.record(Comment(rawValue: text))
            throw error
        }
    }
}

/// The image, copied out of its archive with skopeo (as a user pushes it) and unpacked with umoci: its root
/// filesystem and the runtime spec umoci derives from its config, from which each container's spec is made.
struct UnpackedImage: Sendable {
    let directory: String
    let rootfs: String
    /// The runtime spec umoci wrote: the image's user, entrypoint, command and environment in `process`.
    nonisolated(unsafe) let config: [String: Any]

    init(archive: String, directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.run("/usr/bin/skopeo", ["copy", "--quiet", "oci-archive:" + archive, "oci:\(directory)/layout:image"])
        try Self.run("/usr/bin/umoci", ["unpack", "--image", "\(directory)/layout:image", directory + "/bundle"])
        rootfs = directory + "/bundle/rootfs"
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/bundle/config.json"))
        config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A container of this image named `name`: the image's spec with `process` fields replaced, only the
    /// given namespaces kept from it, `mounts` added (a mount replaces the spec's own at its destination),
    /// the root read-only as the manifests ask, and no terminal.
    func container(
        _ name: String, process changes: [String: Any], namespaces keep: [String]?, mounts: [[String: Any]],
        privileged: Bool = false
    ) throws -> RuncContainer {
        var spec = config
        var process = try #require(spec["process"] as? [String: Any])
        process.merge(changes) { $1 }
        process["terminal"] = false
        spec["process"] = process
        spec["root"] = ["path": rootfs, "readonly": true]
        let destinations = Set(mounts.compactMap { $0["destination"] as? String })
        let own = (spec["mounts"] as? [[String: Any]] ?? []).filter { !destinations.contains($0["destination"] as? String ?? "") }
        spec["mounts"] = own + mounts
        var linux = try #require(spec["linux"] as? [String: Any])
        if let keep {
            linux["namespaces"] = (linux["namespaces"] as? [[String: Any]] ?? []).filter { keep.contains($0["type"] as? String ?? "") }
        }
        if privileged {
            linux["maskedPaths"] = nil
            linux["readonlyPaths"] = nil
        }
        spec["linux"] = linux
        let bundle = directory + "/" + name
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: bundle + "/config.json"))
        return RuncContainer(id: "mdev-test-\(name)-\(UUID().uuidString.prefix(8))", bundle: bundle, state: directory + "/runc")
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let result = try ChildProcess(executable, arguments, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]).output()
        guard result.termination == .exited(0) else {
            throw KubeAPIServer.StartError(description: "\(executable) \(arguments.joined(separator: " ")): \(result.termination): \(result.stderr)")
        }
    }
}

/// One container under runc, in the foreground: runc's stdio is the container's, runc passes signals on and
/// exits with the container's status.
struct RuncContainer: Sendable {
    let id: String
    let bundle: String
    let state: String

    func run(stderrLine: (@Sendable (String) -> Void)? = nil) throws -> ChildProcess {
        try ChildProcess("/usr/sbin/runc", ["--root", state, "run", "--bundle", bundle, id],
                         environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], stderrLine: stderrLine)
    }
}

/// A started container and its runc.
struct RunningContainer: Sendable {
    let container: RuncContainer
    let process: ChildProcess

    /// Kills what is left (a test that failed half-way) and removes runc's record of it.
    func stop() {
        if process.isRunning { process.signal(SIGKILL) }
        _ = process.waitUntilExit()
        _ = try? ChildProcess("/usr/sbin/runc", ["--root", container.state, "delete", "--force", container.id],
                              environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]).output()
    }
}

/// What the kubelet makes of a pod template, for the fields the manifests use: each container's command,
/// environment (values and downward-API fields), user (container's or pod's `runAsUser`/`runAsGroup`),
/// read-only root, capabilities (`privileged`, or `drop: [ALL]`), `allowPrivilegeEscalation`, `hostPID`,
/// and its volume mounts (hostPath volumes, at the test's folders for their paths), plus the service account
/// mount and the API server's address. Every container shares the host's network here (the API server
/// listens on 127.0.0.1 of this machine), where a pod reaches it through its Service.
struct PodEmulation {
    /// Test folders standing for the host paths of the manifests' hostPath volumes.
    var hostPaths: [String: String]
    var serviceAccount: String
    var environment: [String: String]
    var fields: [String: String]

    struct Pod: @unchecked Sendable {
        var spec: [String: Any]
    }

    /// The pod template of the DaemonSet in `contrib/kubernetes/<manifest>`, as kubectl reads it.
    func pod(server: KubeAPIServer, manifest: String) async throws -> Pod {
        let json = try await offThePool {
            try server.kubectl(["create", "--dry-run=client", "-o", "json", "-f", KubeAPIServer.manifests + "/" + manifest])
        }
        return try pod(fromDaemonSet: json)
    }

    func pod(fromDaemonSet json: String) throws -> Pod {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let template = try #require((object["spec"] as? [String: Any])?["template"] as? [String: Any])
        return Pod(spec: try #require(template["spec"] as? [String: Any]))
    }

    func start(_ pod: Pod, container name: String, image: UnpackedImage, stderrLine: @escaping @Sendable (String) -> Void) throws -> RunningContainer {
        let containers = try #require(pod.spec["containers"] as? [[String: Any]])
        let container = try #require(containers.first { $0["name"] as? String == name })
        let podSecurity = pod.spec["securityContext"] as? [String: Any] ?? [:]
        let security = container["securityContext"] as? [String: Any] ?? [:]
        let privileged = security["privileged"] as? Bool ?? false

        var process: [String: Any] = [:]
        let imageProcess = image.config["process"] as? [String: Any] ?? [:]
        var env = imageProcess["env"] as? [String] ?? []
        env += environment.map { "\($0.key)=\($0.value)" }
        for variable in container["env"] as? [[String: Any]] ?? [] {
            let key = try #require(variable["name"] as? String)
            if let value = variable["value"] as? String {
                env.append("\(key)=\(value)")
            } else {
                let path = try #require(((variable["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: Any])?["fieldPath"] as? String)
                env.append("\(key)=\(try #require(fields[path], "no value for the field \(path)"))")
            }
        }
        process["env"] = env
        // $(NAME) in the command and arguments: the container's variable NAME, as the kubelet expands it.
        let variables = Dictionary(env.map { ($0.prefix { $0 != "=" }, $0.drop { $0 != "=" }.dropFirst()) }) { $1 }
        process["args"] = ((container["command"] as? [String] ?? []) + (container["args"] as? [String] ?? [])).map { argument in
            variables.reduce(argument) { $0.replacingOccurrences(of: "$(\($1.key))", with: String($1.value)) }
        }
        var user = imageProcess["user"] as? [String: Any] ?? [:]
        if let uid = security["runAsUser"] as? Int ?? podSecurity["runAsUser"] as? Int { user["uid"] = uid }
        if let gid = security["runAsGroup"] as? Int ?? podSecurity["runAsGroup"] as? Int { user["gid"] = gid }
        if security["runAsNonRoot"] as? Bool ?? podSecurity["runAsNonRoot"] as? Bool ?? false {
            #expect(user["uid"] as? Int != 0, "runAsNonRoot with uid 0: the kubelet would refuse to start \(name)")
        }
        process["user"] = user
        let capabilities = privileged ? Self.privilegedCapabilities
            : ((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"] ? [] : nil)
        if let capabilities {
            process["capabilities"] = Dictionary(uniqueKeysWithValues: ["bounding", "effective", "permitted"].map { ($0, capabilities) })
        }
        process["noNewPrivileges"] = !(security["allowPrivilegeEscalation"] as? Bool ?? true)
        #expect(security["readOnlyRootFilesystem"] as? Bool == true, "\(name): the test runs every container with a read-only root")

        let volumes = pod.spec["volumes"] as? [[String: Any]] ?? []
        var mounts: [[String: Any]] = [Self.bind(serviceAccount, at: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true)]
        for mount in container["volumeMounts"] as? [[String: Any]] ?? [] {
            let volume = try #require(volumes.first { $0["name"] as? String == mount["name"] as? String })
            let hostPath = try #require((volume["hostPath"] as? [String: Any])?["path"] as? String, "only hostPath volumes")
            let source = try #require(hostPaths[hostPath], "no test folder for the hostPath \(hostPath)")
            mounts.append(Self.bind(source, at: try #require(mount["mountPath"] as? String), readOnly: mount["readOnly"] as? Bool ?? false))
        }
        // Namespaces: the host's network always (see above), the host's PID namespace with hostPID.
        let namespaces = ["mount", "ipc", "uts"] + (pod.spec["hostPID"] as? Bool == true ? [] : ["pid"])
        let spec = try image.container(name, process: process, namespaces: namespaces, mounts: mounts, privileged: privileged)
        return RunningContainer(container: spec, process: try spec.run(stderrLine: stderrLine))
    }

    static func bind(_ source: String, at destination: String, readOnly: Bool) -> [String: Any] {
        ["destination": destination, "type": "bind", "source": source, "options": ["rbind", readOnly ? "ro" : "rw"]]
    }

    /// A privileged container's capabilities: every one in this process's bounding set (a runtime gives what it
    /// has; this machine's processes lack CAP_SYS_RESOURCE, which runc cannot then give).
    static var privilegedCapabilities: [String] {
        let status = (try? FileSystem.readText("/proc/self/status")) ?? ""
        let field = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }?.split(separator: "\t").last
        let bounding = field.flatMap { UInt64($0, radix: 16) } ?? 0
        return capabilityNames.enumerated().filter { bounding & (1 << UInt64($0.offset)) != 0 }.map { "CAP_" + $0.element }
    }

    /// Linux's capabilities in the order of their numbers (0 to 40, Linux 5.9 and later).
    static let capabilityNames = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]
}
