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

    /// Starts calling `reload` on SIGHUP and `stop` on SIGTERM or SIGINT, on the watcher's queue.
    public func start(reload: @escaping @Sendable () -> Void, stop: @escaping @Sendable () -> Void) {
        queue.sync {
            for (signal, handler) in [(SIGHUP, reload), (SIGTERM, stop), (SIGINT, stop)] {
                // On Linux, Dispatch installs its own handler for the signal (setting SIG_IGN here
                // would make the kernel drop it); the process no longer dies of it from then on.
                let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
                source.setEventHandler(handler: handler)
                source.activate()
                sources.append(source)
            }
        }
    }

    public func stop() {
        queue.async { [self] in
            for source in sources { source.cancel() }
            sources = []
        }
    }
}
