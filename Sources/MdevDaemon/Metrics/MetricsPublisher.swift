import Logging
import MdevSysfs

/// Writes the metrics file when one is asked for, and says when writing it fails, once per distinct failure
/// (a collector directory that does not exist would otherwise be reported at every pass) and once when it
/// works again.
public final class MetricsPublisher: Sendable {
    private let file: MetricsFile
    private let logger: Logger
    /// The last failure reported, until a write succeeds.
    private let lastFailure = LockedValue<String?>(nil)

    public init(file: MetricsFile, logger: Logger) {
        self.file = file
        self.logger = logger
    }

    public func publish(_ metrics: HostMetrics) {
        do {
            try file.write(metrics)
            if lastFailure.withLock({ $0.take() }) != nil { logger.info("the metrics file \(file.path) is written again") }
        } catch {
            // No collector directory: no node_exporter here (the packaged unit names Debian's directory anyway).
            let directory = FileSystem.directory(of: file.path)
            let missing = error.errno == .noSuchFileOrDirectory && !directory.isEmpty && !FileSystem.isDirectory(directory)
            let message = missing
                ? "the metrics file's directory \(directory) does not exist (no node_exporter textfile collector?): no metrics are written until it does"
                : "cannot write the metrics file \(file.path): \(error)"
            let isNew = lastFailure.withLock { last in
                defer { last = message }
                return last != message
            }
            if isNew {
                if missing { logger.info("\(message)") } else { logger.warning("\(message)") }
            }
        }
    }
}
