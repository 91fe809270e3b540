import Dispatch
import Glibc

/// Turns SIGHUP into a reload and SIGTERM and SIGINT into a stop, through Dispatch signal sources.
public final class SignalWatcher: @unchecked Sendable {
    // Invariant: `sources` is touched only on `queue`.
    private let queue: DispatchQueue
    private var sources: [DispatchSourceSignal] = []

    public init(queue: DispatchQueue) {
        self.queue = queue
    }

    /// Starts calling `reload` on SIGHUP and `stop` on SIGTERM or SIGINT, on the watcher's queue. Returns
    /// once Dispatch has registered every source: from then on no such signal is lost. Must not be called
    /// on the watcher's queue.
    public func start(reload: @escaping @Sendable () -> Void, stop: @escaping @Sendable () -> Void) {
        let registered = DispatchGroup()
        var created: [DispatchSourceSignal] = []
        for (signal, handler) in [(SIGHUP, reload), (SIGTERM, stop), (SIGINT, stop)] {
            // Dispatch installs its own handler when the source registers, a moment after activate().
            // Until then a do-nothing handler keeps the default action (death) from happening; not
            // SIG_IGN, which would make the kernel drop the signal before Dispatch sees it.
            Glibc.signal(signal) { _ in }
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler(handler: handler)
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            source.activate()
            created.append(source)
        }
        registered.wait()
        queue.sync { sources = created }
    }

    /// Cancels the sources and gives the signals their default actions back.
    public func stop() {
        queue.sync {
            for source in sources { source.cancel() }
            sources = []
        }
        for signal in [SIGHUP, SIGTERM, SIGINT] { Glibc.signal(signal, SIG_DFL) }
    }
}
