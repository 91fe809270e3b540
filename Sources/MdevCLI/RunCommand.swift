import ArgumentParser
import Dispatch
import FoundationEssentials
import Logging
import MdevDaemon
import MdevModel
import MdevSysfs

/// `run`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", _superCommandName: MdevReconcilerCommand.name,
        abstract: "Run as a daemon: keep the host as the config says, reacting to device events and config changes.",
        discussion: """
            Reacts to udev events (parents appearing and going, devices created and removed), to changes of the \
            config and labels files, to SIGHUP (reload now) and SIGTERM/SIGINT (stop, leaving every device as it \
            is). Talks to systemd (Type=notify, WatchdogSec=) and logs structured entries to the journal when \
            started by it.

            Examples:
              systemctl enable --now mdev-reconciler
              mdev-reconciler run --log-target stderr --log-level debug
            """)

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var statusFile: StatusFileOption

    @Option(help: ArgumentHelp("Quiet period that ends a burst of events, in milliseconds.", valueName: "MS"))
    var debounce: Int = 100

    @Option(help: ArgumentHelp("Longest a burst may delay a pass, in milliseconds.", valueName: "MS"))
    var maxDelay: Int = 1000

    @OptionGroup var write: WriteTimeoutOption

    @Option(help: ArgumentHelp(
        "How long one sriov-manage -e may take before it is reported like a stuck write, in seconds (mdevReconciler.enableVirtualFunctions).",
        valueName: "S"))
    var sriovManageTimeout: Int = 120

    @Option(help: ArgumentHelp("The udev monitor group: udev, kernel, or auto (udev when udevd runs).", valueName: "GROUP"))
    var udevGroup: String = "auto"

    @Option(help: ArgumentHelp(
        "Write Prometheus metrics to FILE after every pass, at start and at stop, for node_exporter's textfile collector (the packaged unit: \(MetricsFile.debianCollectorPath)).",
        valueName: "FILE"))
    var metricsFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp(
        "Where logs go: journal (structured entries), stderr (plain lines), or auto (the journal when stderr is connected to it).",
        valueName: "TARGET"))
    var logTarget: String = "auto"

    /// The longest `--debounce` and `--max-delay`, in milliseconds: an hour.
    static let longestDelay = 3_600_000

    func validate() throws {
        try WriteTimeoutOption.check("--debounce", debounce, upTo: Self.longestDelay)
        try WriteTimeoutOption.check("--max-delay", maxDelay, upTo: Self.longestDelay)
        try WriteTimeoutOption.check("--sriov-manage-timeout", sriovManageTimeout, upTo: WriteTimeoutOption.longest)
        guard maxDelay >= debounce else { throw ValidationError("--max-delay (\(maxDelay)) must be at least --debounce (\(debounce))") }
        guard configOptions.config != ConfigFiles.standardInput else {
            throw ValidationError("--config - (standard input) is for plan, apply and validate: the daemon re-reads its config, so it needs a file")
        }
        guard ["auto", "udev", "kernel"].contains(udevGroup) else { throw ValidationError("--udev-group must be auto, udev or kernel") }
        guard ["auto", "journal", "stderr"].contains(logTarget) else { throw ValidationError("--log-target must be auto, journal or stderr") }
    }

    func run() async throws {
        IdleMemory.disableTransparentHugePages()
        let logger = Self.bootstrapLogging(
            level: logLevel, toJournal: logTarget == "journal" || (logTarget == "auto" && JournaldLogHandler.isStandardErrorJournal))
        let configFile = configOptions.config ?? host.environment.configFile
        let files = host.configFiles(configFile: configFile)
        let loaded: ConfigFiles.Loaded
        do {
            loaded = try files.load()
        } catch {
            // Nothing to fall back on at start: a clear error and exit 1.
            Diagnostics().print("mdev-reconciler: error: \(error)")
            throw ExitCode.failure
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        let (hostKey, keyWarning) = HostIdentity.hostKey(machineIDFile: host.environment.machineIDFile, nodeName: files.nodeName)
        if let keyWarning { logger.warning("\(keyWarning)") }

        let timing = timing
        let sysfs = host.makeHost(recording: true, clearRetryDelays: timing.vendorClearRetryDelays)
        let knownParents = KnownParents()
        let inputs = InputRelay()
        let clock = ContinuousClock()
        let status = StatusFile(path: statusFile.path(of: host.root))
        let layoutRecord = LayoutRecord(stateDirectory: host.environment.stateDirectory)
        let metrics = metricsFile.map { MetricsPublisher(file: MetricsFile(path: $0), logger: logger) }
        var publishMetrics: (@Sendable (HostMetrics) -> Void)?
        if let metrics { publishMetrics = { metrics.publish($0) } }
        let hostReconciler = HostReconciler(
            configuration: loaded,
            dependencies: .init(
                host: sysfs,
                writer: ParentWriter(clock: clock, deadline: timing.writeDeadline) { inputs.send(.writeReturned(parent: $0)) },
                loadConfiguration: { try files.load() }, refusedDigest: { files.digest() }, configFile: configFile, hostKey: hostKey, nodeName: files.nodeName,
                knownParents: knownParents,
                publishStatus: { [logger] in
                    do { try status.write($0) } catch { logger.warning("cannot write the status file \(status.path): \(error)") }
                },
                enableVirtualFunctions: { [enabler = host.makeEnabler(deadline: timing.sriovManageDeadline)] in enabler.enable(among: $0, before: $1) },
                layoutRecord: layoutRecord, publishMetrics: publishMetrics, version: MdevReconcilerCommand.version,
                cardPreparer: host.makeCardPreparer(for: sysfs)),
            logger: logger)
        // Once a pass leaves nothing to do, what it alone needed goes back (README, "Memory").
        let reconciler = Reconciler(
            clock: clock, timing: timing, host: hostReconciler, notifier: SystemdNotifier(), logger: logger,
            whenSettled: { [logger] in
                let release = IdleMemory.release()
                logger.debug("settled: unmapped \(release.unmappedBytes / 1024) KiB of code and constant data\(release.trimmedHeap ? ", trimmed the heap" : "")")
            })
        inputs.connect { reconciler.send($0) }

        // Every event source runs on this one serial queue, so events keep their order. They start before
        // the first pass reads sysfs, so nothing that happens during it is missed.
        let queue = DispatchQueue(label: "mdev-reconciler.events")
        let monitor: UdevMonitor
        let watcher: FileChangeWatcher
        do {
            monitor = try UdevMonitor(group: udevGroup == "auto" ? nil : udevGroup, udevControl: host.environment.udevControl, queue: queue)
            // A directory that does not exist yet (no labels file is used so far) is waited for. A rebalance
            // request (`mdev-reconciler rebalance`) is read with the config.
            watcher = try FileChangeWatcher(files: [configFile, files.labelsFile, layoutRecord.requestPath], queue: queue)
        } catch {
            Diagnostics().print("mdev-reconciler: error: \(error)")
            throw ExitCode.failure
        }
        monitor.start { output in
            if case .lost = output { logger.warning("udev events were lost (the receive buffer overflowed); rescanning every parent") }
            if let input = UeventRouter.input(for: output, knownParents: knownParents.current) { inputs.send(input) }
        }
        watcher.start { inputs.send(.configChanged) }
        let signals = SignalWatcher(queue: queue)
        signals.start(reload: { inputs.send(.reloadRequested) }, stop: { inputs.send(.stopRequested) })
        logger.info(
            "starting: node \(files.nodeName), config \(configFile), udev \(monitor.group) group, host key from \(hostKey.origin.rawValue)")
        // The metrics file says the daemon runs from before the first pass, and that it stopped once it has.
        if let metrics { metrics.publish(await hostReconciler.metrics) }
        await reconciler.run()
        if let metrics {
            var last = await hostReconciler.metrics
            last.running = false
            metrics.publish(last)
        }
        monitor.stop()
        watcher.stop()
        signals.stop()
    }

    /// The timing the options set.
    var timing: ReconcilerTiming {
        var timing = ReconcilerTiming()
        timing.quietPeriod = .milliseconds(debounce)
        timing.maximumDelay = .milliseconds(maxDelay)
        timing.writeDeadline = write.deadline
        timing.sriovManageDeadline = .seconds(sriovManageTimeout)
        return timing
    }

    /// Journal entries, or plain lines on stderr.
    static func bootstrapLogging(level: Logger.Level, toJournal: Bool) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = toJournal ? JournaldLogHandler(label: label) : PlainLogHandler()
            handler.logLevel = level
            return handler
        }
        return Logger(label: "mdev-reconciler")
    }
}

/// Hands inputs to the reconciler once it exists (the writer needs a way to report before it is built).
final class InputRelay: Sendable {
    private let target = LockedValue<(@Sendable (ReconcilerInput) -> Void)?>(nil)

    func connect(_ send: @escaping @Sendable (ReconcilerInput) -> Void) {
        target.withLock { $0 = send }
    }

    func send(_ input: ReconcilerInput) {
        target.withLock { $0 }?(input)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
