import MdevModel
import SystemPackage

/// A failed file operation under sysfs or procfs: what was done, to which path, and the kernel's errno.
public struct SysfsError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case read, write, list, readLink = "readlink", resolve = "realpath", open, rename, createDirectory = "mkdir", remove = "unlink"
    }

    public var operation: Operation
    public var path: String
    public var errno: Errno
    /// Why, where the errno alone does not say it (a directory refused for who can write to it).
    public var detail: String?

    public init(_ operation: Operation, _ path: String, _ errno: Errno, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    /// Wraps an error thrown by swift-system, which is always an `Errno`.
    init(_ operation: Operation, _ path: String, _ error: any Error) {
        self.init(operation, path, error as? Errno ?? .ioError, detail: nil)
    }

    public var description: String {
        "\(operation.rawValue) \(path): \(detail.map { "\(errno) (\($0))" } ?? errno.explanationForMdev)".escapingControlCharacters
    }
}

extension Errno {
    /// The errno's text, with what it means for an mdev `create` or `remove` where that is known.
    public var explanationForMdev: String {
        let meaning: String? =
            switch self {
            case .fileExists: "the UUID is already in use"
            case .noSpace: "no capacity left for this type"
            case .operationNotSupportedByDevice: "the parent is going away"
            case .invalidArgument: "the kernel rejected the value"
            case .resourceBusy: "the device is busy"
            case .improperLink: "a link leads out of the sysfs root; nothing is read or written there"
            case .illegalSeek: "not a regular file: a FIFO, socket or device is never read"
            case .isDirectory: "a directory, not a file"
            case .fileTooLarge: "larger than this program reads"
            default: nil
            }
        return meaning.map { "\(description) (\($0))" } ?? description
    }
}
