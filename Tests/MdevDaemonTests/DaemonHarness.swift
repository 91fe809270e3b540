import Clocks
import Dispatch
import Foundation
import Logging
import MdevModel
import MdevSysfs
import MdevTestSupport

@testable import MdevDaemon

/// Wraps the simulated kernel so a test can hold a parent's writes inside "the kernel" (a remove that
/// blocks, a driver stuck in firmware) and release them later.
final class GatedControl: ReconcileEngine.Host {
    let kernel: SimulatedKernel
    /// Parents whose writes block, with the semaphore that releases them.
    private let gates = LockedValue<[String: DispatchSemaphore]>([:])
    /// Each write, as `parent` when it starts (before any gate).
    let writesStarted = Recorder<String>()

    init(kernel: SimulatedKernel) {
        self.kernel = kernel
    }

    func close(_ parent: String) {
        gates.withLock { $0[parent] = DispatchSemaphore(value: 0) }
    }

    /// Lets every held and later write on `parent` through.
    /// Lets every gated write through.
    func openAll() {
        for gate in gates.withLock({ gates in defer { gates.removeAll() }; return Array(gates.values) }) { gate.signal() }
    }

    func open(_ parent: String) {
        let gate = gates.withLock { $0.removeValue(forKey: parent) }
        gate?.signal()
    }

    private func pass(_ parent: String) {
        writesStarted.record(parent)
        if let gate = gates.withLock({ $0[parent] }) {
            gate.wait()
            gate.signal()  // Let the next waiter through too.
        }
    }

    func readInventory() throws -> InventoryReading {
        try kernel.readInventory()
    }

    func readParents(_ names: Set<String>) throws -> InventoryReading {
        try kernel.readParents(names)
    }

    func availableInstances(of type: String, at parent: ParentLocation) throws -> Int {
        try kernel.availableInstances(of: type, at: parent)
    }

    func create(_ uuid: UUID, type: String, at parent: ParentLocation) throws {
        pass(parent.name)
        try kernel.create(uuid, type: type, at: parent)
    }

    func remove(_ uuid: UUID, at parent: ParentLocation) throws {
        pass(parent.name)
        try kernel.remove(uuid, at: parent)
    }

    func holders(of uuid: UUID, at parent: ParentLocation) throws -> [DeviceHolder] {
        try kernel.holders(of: uuid, at: parent)
    }
}

/// The whole daemon in-process: the real reconciler actor, state machine, host reconciler and writer,
/// against the simulated kernel, on a test clock.
final class DaemonHarness: Sendable {
    let kernel: SimulatedKernel
    let control: GatedControl
    let clock = TestClock<Duration>()
    let notifier: RecordingNotifier
    let logs = Recorder<RecordingLogHandler.Entry>()
    /// One entry each time the reconciler called `whenSettled`.
    let settled = Recorder<Void>()
    /// The metrics published after each pass, in order (only with `recordMetrics`: as in production, no
    /// metrics are made unless asked for).
    let metrics = Recorder<HostMetrics>()
    /// What the next config reload reads.
    let nextConfiguration: Shared<Result<ConfigFiles.Loaded, InputError>>
    let host: HostReconciler
    let reconciler: Reconciler<TestClock<Duration>>
    let timing: ReconcilerTiming
    let hostKey = HostKey(nodeName: "node01")
    /// Recorded when the run loop returns.
    private let exits = Recorder<Void>()
    private let started = LockedValue(false)

    static func configuration(_ types: [String], enabled: Bool = true, settings: ReconcilerSettings = .init()) -> ConfigFiles.Loaded {
        ConfigFiles.Loaded(
            config: ReconcilerConfig(
                mediatedDevices: MediatedDevicesConfiguration(enabled: enabled, mediatedDeviceTypes: types), settings: settings),
            labels: .builtIn(nodeName: "node01"))
    }

    /// - Parameter vendor: GPUs in NVIDIA's vendor-specific mode beside the kernel's mdev parents; their writes
    ///   are not gated.
    init(
        kernel: SimulatedKernel, types: [String], timing: ReconcilerTiming = DaemonHarness.defaultTiming, watchdog: Duration? = nil,
        vendor: VendorVGPUBackend? = nil, settings: ReconcilerSettings = .init(),
        enableVirtualFunctions: @escaping @Sendable (Set<String>?, @escaping @Sendable (String) -> Void) -> [VirtualFunctionEnabler.Outcome] = { _, _ in [] },
        layoutRecord: LayoutRecord? = nil, recordMetrics: Bool = false, cardPreparer: (any CardPreparing)? = nil,
        wrapHost: (any ReconcileEngine.Host) -> any ReconcileEngine.Host = { $0 }
    ) {
        self.kernel = kernel
        notifier = RecordingNotifier(watchdogInterval: watchdog)
        self.timing = timing
        let control = GatedControl(kernel: kernel)
        self.control = control
        let initial = Self.configuration(types, settings: settings)
        nextConfiguration = Shared(.success(initial))
        var logger = Logger(label: "test") { [logs] _ in RecordingLogHandler(entries: logs) }
        logger.logLevel = .trace
        let late = Shared<(@Sendable (String) -> Void)?>(nil)
        let writer = ParentWriter(clock: clock, deadline: timing.writeDeadline) { parent in
            late.value?(parent)
        }
        var publishMetrics: (@Sendable (HostMetrics) -> Void)?
        if recordMetrics { publishMetrics = { [metrics] in metrics.record($0) } }
        host = HostReconciler(
            configuration: initial,
            dependencies: .init(
                host: wrapHost(vendor.map { CombinedHost(mdev: control, vendor: $0) } ?? control), writer: writer,
                loadConfiguration: { [nextConfiguration] in try nextConfiguration.value.get() },
                configFile: "/etc/mdev-reconciler/config.yaml", hostKey: hostKey, nodeName: "node01",
                enableVirtualFunctions: enableVirtualFunctions, layoutRecord: layoutRecord,
                publishMetrics: publishMetrics, version: "test", cardPreparer: cardPreparer),
            logger: logger)
        reconciler = Reconciler(clock: clock, timing: timing, host: host, notifier: notifier, logger: logger) { [settled] in
            settled.record(())
        }
        // Weak: the reconciler owns the writer, whose late-write callback this is (no cycle to outlive a test).
        late.value = { [weak reconciler] in reconciler?.send(.writeReturned(parent: $0)) }
    }

    static var defaultTiming: ReconcilerTiming {
        var timing = ReconcilerTiming()
        timing.quietPeriod = .milliseconds(100)
        timing.maximumDelay = .seconds(1)
        timing.writeDeadline = .seconds(10)
        timing.stopGracePeriod = .seconds(3)
        return timing
    }

    /// Starts the daemon and waits for READY=1.
    func start() async throws {
        let mark = notifier.messages.count
        started.withLock { $0 = true }
        Task { [reconciler, exits] in
            await reconciler.run()
            exits.record(())
        }
        _ = try await notifier.messages.first(from: mark) { $0.hasPrefix("READY=1") }
    }

    /// Stops the daemon (gated writes let through, the grace period passed on the test clock) and waits until
    /// its run loop has returned. Every test that starts a daemon stops it: a run loop left waiting keeps
    /// the actor, its input stream and the task suspended on it in a cycle nothing else reaches, which
    /// LeakSanitizer reports as a leak.
    func stop() async throws {
        guard started.withLock({ $0 }) else { return }
        control.openAll()
        await reconciler.receive(.stopRequested)
        await clock.advance(by: timing.stopGracePeriod)
        try await waitForExit()
    }

    /// Waits (at most 60 s of real time, the recorder's default) until the daemon's run loop has returned.
    func waitForExit() async throws {
        _ = try await exits.first(from: 0) { true }
    }

    /// Runs `trigger`, then waits for the end of the next pass (its READY=1 or STATUS= message).
    @discardableResult
    func pass(after trigger: () async -> Void) async throws -> String {
        let mark = notifier.messages.count
        await trigger()
        return try await notifier.messages.first(from: mark) { $0.hasPrefix("STATUS=") || $0.hasPrefix("READY=1") }
    }

    func messageIDs(of kind: JournalEvent) -> [RecordingLogHandler.Entry] {
        logs.all.filter { $0.messageID == kind.messageID }
    }
}

/// A value shared between threads.
final class Shared<Value: Sendable>: Sendable {
    private let storage: LockedValue<Value>

    init(_ value: Value) {
        storage = LockedValue(value)
    }

    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
