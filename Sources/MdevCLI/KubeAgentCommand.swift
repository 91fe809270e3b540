import ArgumentParser
import Dispatch
import Glibc
import Logging
import MdevDaemon
import MdevKube
import MdevModel
import MdevSysfs

struct KubeAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube-agent", _superCommandName: MdevReconcilerCommand.name,
        abstract: "Run the cluster's half of the daemon: the KubeVirt CR and this Node's labels into run's files, the node's state back.",
        discussion: """
            Watches this node's Node, the KubeVirt CR and the optional ConfigMap mdev-reconciler (its settings.yaml \
            holds the mdevReconciler settings) on the API server. Writes the config and labels files that run \
            reads, only when their content changes and never from anything it could not read completely; reads \
            the status file run writes, and reports the node's state: the label mdev-reconciler.io/state, the \
            condition MediatedDevicesReady, the annotation mdev-reconciler.io/summary and Events. It hands the \
            host to run only when KubeVirt's own handling is off (mediatedDevicesConfiguration.enabled: false or \
            the DisableMDEVConfiguration feature gate); otherwise the config it writes manages nothing. Inside a \
            pod it uses the pod's service account; elsewhere give --kubeconfig. Stops on SIGTERM or SIGINT.

            Examples:
              mdev-reconciler kube-agent --config /etc/mdev-reconciler/cluster/config.yaml \\
                --labels /etc/mdev-reconciler/cluster/labels --status-file /run/mdev-reconciler/status.json
              mdev-reconciler kube-agent --kubeconfig ~/.kube/config --node-name node-1 --config ... 
            """)

    @Option(help: ArgumentHelp("A kubeconfig file (its current context); default: the pod's service account.", valueName: "FILE"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("This node's Node name; default: $NODE_NAME, else the hostname, lower-cased.", valueName: "NAME"))
    var nodeName: String?

    @Option(help: ArgumentHelp("The namespace of the KubeVirt CR.", valueName: "NS"))
    var kubevirtNamespace = "kubevirt"

    @Option(help: ArgumentHelp("The config file to write, which run reads (its --config).", valueName: "FILE"))
    var config: String

    @Option(help: ArgumentHelp("The labels file to write, which run reads (its --labels).", valueName: "FILE"))
    var labels: String

    @Option(help: ArgumentHelp("The status file run writes (its --status-file), read here.", valueName: "FILE"))
    var statusFile: String

    @Flag(help: ArgumentHelp(
        "After the node converged to another set of devices, delete its virt-handler pod so that KubeVirt starts one that offers them (needs contrib/kubernetes/rbac-virt-handler-restart.yaml)."))
    var restartVirtHandler = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    /// `--node-name`, else `NODE_NAME`, else the hostname.
    var resolvedNodeName: String {
        (nodeName ?? Self.environment["NODE_NAME"] ?? HostIdentity.systemNodeName()).lowercased()
    }

    /// The variables the agent reads (the downward API's and the in-cluster address), those set and not empty.
    static var environment: [String: String] {
        var values: [String: String] = [:]
        for name in ["NODE_NAME", "POD_NAMESPACE", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"] {
            if let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty { values[name] = value }
        }
        return values
    }

    func validate() throws {
        if let problem = LabelSyntax.problem(withNodeName: resolvedNodeName) { throw ValidationError("node name: \(problem)") }
        if let problem = LabelSyntax.problem(withNodeName: kubevirtNamespace) { throw ValidationError("--kubevirt-namespace: \(problem)") }
        for (option, path) in [("--config", config), ("--labels", labels)] {
            do {
                try FileSystem.checkWritableDirectory(of: path)
            } catch {
                throw ValidationError("\(option) \(path.quoted): \(error)")
            }
        }
    }

    func run() throws {
        IdleMemory.disableTransparentHugePages()
        let logger = RunCommand.bootstrapLogging(level: logLevel, toJournal: JournaldLogHandler.isStandardErrorJournal)
        if let problem = CurlTransport.unavailable {
            Diagnostics().print("mdev-reconciler: error: kube-agent needs Debian's libcurl (package libcurl4): \(problem)")
            throw ExitCode.failure
        }
        let environment = Self.environment
        let client: KubeClient
        do {
            client = try ClusterAccess.client(
                kubeconfig: kubeconfig, environment: environment, userAgent: "mdev-reconciler/\(MdevReconcilerCommand.version)")
        } catch {
            Diagnostics().print("mdev-reconciler: error: \(error)")
            throw ExitCode.failure
        }
        let options = KubeAgent.Options(
            nodeName: resolvedNodeName, kubevirtNamespace: kubevirtNamespace, namespace: ClusterAccess.namespace(environment: environment),
            configFile: config, labelsFile: labels, statusFile: statusFile, restartVirtHandler: restartVirtHandler)
        // Once a change is handled and nothing else waits, what it faulted in goes back (IdleMemory; README,
        // "Running on a Kubernetes cluster", "Figures").
        let agent = KubeAgent(client: client, options: options, logger: logger, whenSettled: { [logger] in
            let release = IdleMemory.release()
            logger.debug("settled: unmapped \(release.unmappedBytes / 1024) KiB of code and constant data\(release.trimmedHeap ? ", trimmed the heap" : "")")
        })
        let signals = SignalWatcher(queue: DispatchQueue(label: "mdev-reconciler.signals"))
        signals.start(reload: {}, stop: { [stop = agent.stop] in stop.stop() })
        do {
            try agent.run()
        } catch {
            Diagnostics().print("mdev-reconciler: error: \(error)")
            throw ExitCode.failure
        }
        signals.stop()
    }
}
