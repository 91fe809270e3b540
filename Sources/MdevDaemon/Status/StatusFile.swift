import MdevSysfs

/// Reads and writes the daemon's status file. Writes are atomic: a reader never sees half a file.
public struct StatusFile: Sendable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// Writes `status` to a temporary file beside the target, then renames it over the target.
    public func write(_ status: DaemonStatus) throws {
        try JSONFile.write(status, to: path)
    }

    /// - Throws: ``JSONFileError``: no file (errno set), or one that holds no status.
    public func read() throws(JSONFileError) -> DaemonStatus {
        try JSONFile.read(DaemonStatus.self, from: path)
    }
}
