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

    /// - Throws: ``JSONFileError``: no file (errno set), or one that holds no status (a parent listed twice
    ///   is not one: the daemon writes each once).
    public func read() throws(JSONFileError) -> DaemonStatus {
        try Self.checked(JSONFile.read(DaemonStatus.self, from: path), path: path)
    }

    /// The status `bytes` (the content of `path`) hold, checked as ``read()`` checks it.
    public static func decode(_ bytes: [UInt8], path: String) throws(JSONFileError) -> DaemonStatus {
        try checked(JSONFile.decode(DaemonStatus.self, from: bytes, path: path), path: path)
    }

    private static func checked(_ status: DaemonStatus, path: String) throws(JSONFileError) -> DaemonStatus {
        var seen = Set<String>()
        for entry in status.parents where !seen.insert(entry.parent).inserted {
            throw JSONFileError(path: path, errno: nil, reason: "lists parent \(entry.parent.quoted) twice")
        }
        return status
    }
}
