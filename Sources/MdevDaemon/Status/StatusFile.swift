import Foundation
import MdevSysfs

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
        try FileSystem.writeAtomically(Array(try encoder.encode(status)), to: path)
    }

    public func read() throws -> DaemonStatus {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(DaemonStatus.self, from: Data(try FileSystem.readBytes(path)))
    }
}
