import MdevSysfs
import SystemPackage

/// The metrics file (`--metrics-file`), in the format node_exporter's textfile collector reads. Written
/// atomically (a temporary file beside it, then a rename): the collector never reads half a file.
public struct MetricsFile: Sendable {
    public var path: String

    /// Debian's textfile collector directory (`prometheus-node-exporter`) with this program's file.
    public static let debianCollectorPath = "/var/lib/prometheus/node-exporter/mdev-reconciler.prom"

    public init(path: String) {
        self.path = path
    }

    /// Whether the file could be written now: its directory is there and may be written to
    /// (``FileSystem/checkWritableDirectory(of:)``). `apply` asks before it changes the host.
    public func checkWritable() throws(SysfsError) {
        try FileSystem.checkWritableDirectory(of: path)
    }

    /// Writes the file readable by everyone (node_exporter runs as its own user; the unit's umask is 0077).
    /// The directory is not created: it belongs to the collector (`prometheus-node-exporter`).
    public func write(_ metrics: HostMetrics) throws(SysfsError) {
        try FileSystem.writeAtomically(
            Array(metrics.text.utf8), to: path, createDirectory: false, mode: [.ownerReadWrite, .groupRead, .otherRead])
    }

    /// The metrics file could not be written: its path as the user gave it, and why.
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var underlying: any Error

        public init(path: String, underlying: any Error) {
            self.path = path
            self.underlying = underlying
        }

        public var description: String { "cannot write the metrics file \(path): \(underlying)" }
    }
}
