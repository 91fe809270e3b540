import FoundationEssentials
import MdevModel
import SystemPackage

/// The program's own JSON files (the status file, the vGPU record): written atomically, read back with
/// errors of one line that say which file and what is wrong, never a Foundation or `DecodingError` dump.
public enum JSONFile {
    /// Encodes `value` (sorted keys, pretty, dates as ISO 8601) and writes it atomically to `path`.
    public static func write(_ value: some Encodable, to path: String) throws {
        try FileSystem.writeAtomically(try encode(value), to: path)
    }

    /// The bytes ``write(_:to:)`` writes.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(value))
    }

    /// The largest record read: 1 MiB, as for the config. The records of the largest hosts are tens of KiB;
    /// a larger file is not this program's, and is refused (it counts as lost) before it could fill memory.
    public static let recordLimit = 1 << 20

    /// Reads and decodes the file at `path`.
    /// - Throws: ``JSONFileError``: the file cannot be read (with its errno), is larger than ``recordLimit``,
    ///   or does not hold a `T`.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws(JSONFileError) -> T {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readBytes(path, limit: recordLimit)
        } catch where error.errno == .fileTooLarge {
            throw JSONFileError(path: path, errno: error.errno, reason: "is larger than \(recordLimit / 1024) KiB, the most a record of this program may be")
        } catch {
            throw JSONFileError(path: path, errno: error.errno, reason: "cannot be read (\(error.errno))")
        }
        return try decode(type, from: bytes, path: path)
    }

    /// Decodes `bytes`, the content of `path`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], path: String) throws(JSONFileError) -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw JSONFileError(path: path, errno: nil, reason: Self.reason(error))
        } catch {
            throw JSONFileError(path: path, errno: nil, reason: "is not valid JSON")
        }
    }

    /// A decoding error in words: what is wrong, and at which field.
    static func reason(_ error: DecodingError) -> String {
        func field(_ path: [any CodingKey]) -> String {
            let names = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return names.isEmpty ? "the top level" : String(names.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "lacks \(key.stringValue.quoted) at \(field(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "holds a value of the wrong kind at \(field(context.codingPath))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "is not valid JSON" : "holds an invalid value at \(field(context.codingPath))"
        @unknown default:
            return "cannot be decoded"
        }
    }
}

/// One of the program's JSON files could not be read or does not hold what it should.
public struct JSONFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// Set when the file itself could not be read.
    public var errno: Errno?
    public var reason: String

    public init(path: String, errno: Errno?, reason: String) {
        self.path = path
        self.errno = errno
        self.reason = reason
    }

    public var description: String { "\(path) \(reason)".escapingControlCharacters }
}
