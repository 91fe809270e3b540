import Dispatch
import FoundationEssentials
import Glibc
import Logging
import MdevDaemon
import MdevModel
import MdevSysfs

/// The cluster's half of the daemon: watches its own Node, the KubeVirt CRs and the settings ConfigMap,
/// writes the config and labels files `run` reads (atomically, only when their content changes, and never
/// from anything read incompletely), reads the status file `run` writes, and reports the node's state.
///
/// One serial queue owns the state; each watch (``Reflector``) and the reporter run on threads of their
/// own, because libcurl blocks. ``run()`` returns once ``stop`` is signalled and every thread has ended.
public final class KubeAgent: Sendable {
    public struct Options: Sendable {
        public var nodeName: String
        public var kubevirtNamespace: String
        /// The agent's own namespace, where the settings ConfigMap is.
        public var namespace: String
        public var configFile: String
        public var labelsFile: String
        public var statusFile: String
        /// Delete this node's virt-handler pod after the node converged to another set of devices
        /// (``VirtHandlerRestart``).
        public var restartVirtHandler: Bool

        public init(
            nodeName: String, kubevirtNamespace: String, namespace: String, configFile: String, labelsFile: String, statusFile: String,
            restartVirtHandler: Bool = false
        ) {
            self.restartVirtHandler = restartVirtHandler
            self.nodeName = nodeName
            self.kubevirtNamespace = kubevirtNamespace
            self.namespace = namespace
            self.configFile = configFile
            self.labelsFile = labelsFile
            self.statusFile = statusFile
        }
    }

    /// The settings ConfigMap's name, and its key.
    public static let settingsConfigMap = "mdev-reconciler"
    public static let settingsKey = "settings.yaml"
    /// The prefix of the labels this program sets, left out of the labels file.
    public static let ownLabelPrefix = "mdev-reconciler.io/"

    private let client: KubeClient
    private let options: Options
    private let logger: Logger
    /// The client's: stopping it ends the watches, the requests in flight and the reporter.
    public var stop: StopSignal { client.stop }
    private let queue = DispatchQueue(label: "mdev-reconciler.kube-agent")
    private let state = LockedValue(State())
    private let reporter: ReportSender

    /// What the queue knows. The cluster's copies are nil until their first list.
    struct State {
        var node: [String: KubeObject]?
        var kubeVirts: [String: KubeObject]?
        var configMaps: [String: KubeObject]?
        var target: ClusterTarget?
        /// The ``InputDigest`` of the files as the agent last wrote or found them.
        var written: String?
        var reading: NodeReport.DaemonReading = .absent
        /// The last failure of each watch, until it copies again: each is logged once while it lasts.
        var problems: [Watched: String] = [:]
    }

    /// - Parameter whenSettled: called after a report went out, or a change needed none, with no newer one
    ///   waiting (the command gives back what the work faulted in, as the daemon does after a pass).
    public init(
        client: KubeClient, options: Options, logger: Logger,
        whenSettled: @escaping @Sendable () -> Void = {}
    ) {
        self.client = client
        self.options = options
        self.logger = logger
        reporter = ReportSender(
            reporter: NodeReporter(client: client, nodeName: options.nodeName), stop: client.stop, logger: logger,
            virtHandlerRestart: options.restartVirtHandler
                ? VirtHandlerRestart(client: client, namespace: options.kubevirtNamespace, nodeName: options.nodeName) : nil,
            whenSettled: whenSettled)
    }

    /// Runs until ``stop``: the watches, the status file's watch and the reporter.
    public func run() throws(DaemonSetupError) {
        let watcher = try FileChangeWatcher(files: [options.statusFile], queue: queue)
        watcher.start { [self] in readStatus() }
        queue.sync { readStatus() }
        let finished = DispatchGroup()
        func thread(_ body: @escaping @Sendable () -> Void) {
            finished.enter()
            DedicatedThread.start {
                body()
                finished.leave()
            }
        }
        let node = options.nodeName
        let watches: [(String, String, Watched)] = [
            ("/api/v1/nodes", "fieldSelector=metadata.name%3D\(node)", .node),
            ("/apis/kubevirt.io/v1/namespaces/\(options.kubevirtNamespace)/kubevirts", "", .kubeVirts),
            ("/api/v1/namespaces/\(options.namespace)/configmaps", "fieldSelector=metadata.name%3D\(Self.settingsConfigMap)", .configMaps),
        ]
        for (path, selector, watched) in watches {
            var reflector = Reflector(
                client: client, path: path, selector: selector,
                onChange: { [self] objects in queue.async { [self] in received(objects, from: watched) } },
                onProblem: { [self] problem in queue.async { [self] in noteProblem(problem, from: watched) } })
            reflector.onExpired = { [logger] note in logger.debug("\(note)") }
            thread { [reflector] in reflector.run() }
        }
        thread { [reporter] in reporter.run() }
        logger.info("kube-agent for node \(node): watching Node \(node), KubeVirt CRs in \(options.kubevirtNamespace), ConfigMap \(options.namespace)/\(Self.settingsConfigMap)")
        // This thread only waits: the stop signals go to the threads started above, which keep them
        // unblocked. (Under ThreadSanitizer, a handler the kernel runs on a thread waiting in libdispatch's
        // futex is held back until that thread wakes, which this one would not: an agent never stopped.)
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        defer { pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil) }
        finished.wait()
        withExtendedLifetime(watcher) {}
        logger.info("kube-agent stopped after \(client.requests.withLock { $0 }) requests to the API server")
    }

    // MARK: On the queue

    /// What each watch copies.
    enum Watched: Sendable, Hashable {
        case node, kubeVirts, configMaps
    }

    private func received(_ objects: [String: KubeObject], from watched: Watched) {
        let recovered = state.withLock { state in
            switch watched {
            case .node: state.node = objects
            case .kubeVirts: state.kubeVirts = objects
            case .configMaps: state.configMaps = objects
            }
            return state.problems.removeValue(forKey: watched)
        }
        if let recovered { logger.info("the API server answers again, after: \(recovered)") }
        update()
    }

    private func noteProblem(_ problem: String, from watched: Watched) {
        let first = state.withLock { state in state.problems.updateValue(problem, forKey: watched) != problem }
        // The files stay as they are: nothing is written from what could not be read.
        if first { logger.warning("\(problem); the config and labels files stay as they are") }
    }

    private func readStatus() {
        let reading: NodeReport.DaemonReading
        do {
            reading = .status(try StatusFile(path: options.statusFile).read())
        } catch {
            reading = error.errno == .noSuchFileOrDirectory ? .absent : .unreadable(error.description)
        }
        state.withLock { $0.reading = reading }
        report()
    }

    /// Works out the target from the cluster's copies, once all three were read, and writes the files.
    private func update() {
        let (node, kubeVirts, configMaps) = state.withLock { ($0.node, $0.kubeVirts, $0.configMaps) }
        guard let node, let kubeVirts, let configMaps else { return }
        let target = Self.target(node: node.values.first, kubeVirts: kubeVirts, configMaps: configMaps, options: options)
        let previous = state.withLock { state in
            defer { state.target = target }
            return state.target
        }
        if target != previous, case .keep(_, let message) = target {
            logger.warning("\(message); the config and labels files stay as they are")
        }
        if case .write(let config, let handover) = target, let node = node.values.first {
            write(config: config, handover: handover, node: node)
        }
        report()
    }

    static func target(node: KubeObject?, kubeVirts: [String: KubeObject], configMaps: [String: KubeObject], options: Options) -> ClusterTarget {
        guard node != nil else {
            return .keep(reason: "NodeNotFound", message: "Node \(options.nodeName.quoted) does not exist")
        }
        var crs: [KubeVirtCR] = []
        for object in kubeVirts.values.sorted(by: { $0.key < $1.key }) {
            do {
                crs.append(try KubeVirtCR.parse(object.value.text))
            } catch {
                return .keep(reason: "ConfigUnreadable", message: "KubeVirt \(object.key): \(error.message)")
            }
        }
        var settings: Result<ReconcilerSettings, InputError>?
        if let configMap = configMaps.values.first {
            let file = "ConfigMap \(configMap.key) \(settingsKey)"
            let text = configMap.value["data"]?[settingsKey]?.string ?? ""
            settings = Result { () throws(InputError) in try ConfigParser.parseSettingsDocument(text, file: file) }
        }
        return ClusterTarget.decide(crs: crs, namespace: options.kubevirtNamespace, settings: settings)
    }

    private func write(config: ReconcilerConfig, handover: ClusterTarget.Handover, node: KubeObject) {
        let source = "Written by mdev-reconciler kube-agent from the cluster; it is replaced on every change."
        let configText = InputFileRenderer.config(config, header: [source, "KubeVirt's mediated devices: \(handover.rawValue)"])
        // Not this program's own labels: the state label follows the files, so it must not move them.
        let labels = (node.metadata.labels ?? [:]).filter { !$0.key.hasPrefix(Self.ownLabelPrefix) }.sorted { $0.key < $1.key }
            .map { Label(key: $0.key, value: $0.value) }
        let labelsText = InputFileRenderer.labels(labels, header: [source, "The labels of Node \(options.nodeName)."])
        // What the API server validated is checked again: nothing the daemon would refuse is written.
        do {
            _ = try LabelsFileParser.parse(labelsText, file: options.labelsFile)
            _ = try ConfigParser.parse(configText, file: options.configFile)
        } catch {
            logger.error("not written, the rendering does not read back: \(error)")
            return
        }
        do {
            // Labels first: a daemon that reads between the two sees the new labels with the config in force.
            let changedLabels = try Self.replace(options.labelsFile, with: labelsText)
            let changedConfig = try Self.replace(options.configFile, with: configText)
            if changedLabels || changedConfig {
                logger.info("wrote \([changedConfig ? options.configFile : nil, changedLabels ? options.labelsFile : nil].compactMap { $0 }.joined(separator: " and ")) (\(handover.rawValue))")
            }
            state.withLock { $0.written = InputDigest.of(config: configText, labels: labelsText) }
        } catch {
            logger.error("cannot write the daemon's files: \(error)")
        }
    }

    /// Writes `text` to `path` unless it holds it already; true when it wrote.
    static func replace(_ path: String, with text: String) throws(SysfsError) -> Bool {
        let bytes = Array(text.utf8)
        if let current = try? FileSystem.readBytes(path, limit: ConfigFiles.sizeLimit), current == bytes { return false }
        try FileSystem.writeAtomically(bytes, to: path, mode: [.ownerReadWrite, .groupRead, .otherRead])
        return true
    }

    private func report() {
        let (target, written, reading, node) = state.withLock { ($0.target, $0.written, $0.reading, $0.node?.values.first) }
        guard let node else { return }
        reporter.offer(ReportSender.Offer(
            report: NodeReport.make(target: target, written: written, reading: reading), nodeUID: node.value["metadata"]?["uid"]?.string,
            annotated: node.metadata.annotations?[NodeReporter.summaryAnnotation], condition: NodeReporter.Condition(node: node)))
    }
}
