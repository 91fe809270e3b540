import Foundation

/// Reads and writes the daemon's status file. Writes are atomic: a reader never sees half a file.
public struct StatusFile: Sendable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// Writes `status` to a temporary file beside the target, then renames it over the target.
    public func write(_ status: DaemonStatus) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try encoder.encode(status).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public func read() throws -> DaemonStatus {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(DaemonStatus.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
