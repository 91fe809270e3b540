import CSystemd
import Glibc
import Logging
import SystemPackage

/// A swift-log handler that writes structured entries to the systemd journal with `sd_journal_sendv`,
/// so every metadata key is a field (`journalctl MDEV_PARENT=0000:3b:00.0`).
public struct JournaldLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let identifier: String

    public init(label: String, identifier: String = "mdev-reconciler") {
        self.label = label
        self.identifier = identifier
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let entry = JournalFields(event: event, label: label, metadata: metadata, identifier: identifier)
        // Each field is "NAME=value" (sd_journal_sendv copes with newlines in values), all in one buffer.
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in entry.fields {
            let start = storage.count
            storage += "\(field.name)=\(field.value)".utf8
            ranges.append(start..<storage.count)
        }
        let result = storage.withUnsafeMutableBytes { bytes in
            let vectors = ranges.map { iovec(iov_base: bytes.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return sd_journal_sendv(vectors, Int32(vectors.count))
        }
        if result < 0 {
            // The journal is gone: the line still reaches stderr, which systemd collects.
            PlainLogHandler.write(line: PlainLogHandler.format(event: event, metadata: metadata))
        }
    }

    /// Whether standard error is connected to the journal: `$JOURNAL_STREAM` names its device and inode.
    public static var isStandardErrorJournal: Bool {
        guard let stream = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        guard let info = try? FileDescriptor.standardError.stat() else { return false }
        return UInt64(info.deviceID.rawValue) == device && UInt64(info.inode.rawValue) == inode
    }
}
