import Logging

/// The kinds of entry the daemon writes to the journal, each with a fixed `MESSAGE_ID`
/// (`journalctl MESSAGE_ID=…`); `systemd/mdev-reconciler.catalog` explains each one.
public enum JournalEvent: String, Sendable, CaseIterable {
    case created, removed, keptInUse, blocked, failed, configLoaded, configRejected, parentAppeared, parentGone, stuck
    case started, stopped
    case virtualFunctionsEnabled, virtualFunctionsNotEnabled
    /// A wanted type the kept layout serves on fewer cards than a rebalance would (a card went away).
    case unserved
    /// A wanted list of only types no card has: a likely typo, held (devices kept, previous config in force).
    case configHeld
    /// A GPU was made ready for a MIG-backed vGPU type, or GPU instances this program made were destroyed.
    case gpuPrepared

    /// The journal's `MESSAGE_ID` for this kind: 128 bits in hex, fixed forever.
    public var messageID: String {
        switch self {
        case .created: "69c6fca13f81446ba44b82dfeee622fc"
        case .removed: "9c7e01289f96408faac450fa51f1337c"
        case .keptInUse: "d2dd2993694349ae852c0ef2b5bbd320"
        case .blocked: "552fd21fe26f438c82e526533be7f6b5"
        case .failed: "2abf4b58567e485c9ae7c5eddc06de5d"
        case .configLoaded: "6eaa4f3a2daf4e83aa9168f8717e32dd"
        case .configRejected: "d9d003a268de45399b529e4637b01f5e"
        case .parentAppeared: "c4acde5ea9154c87a90cf6895587fe35"
        case .parentGone: "666086c9ab864d2eaf20e6a4f491d6a4"
        case .stuck: "0c6f218337f94f5f8f54b766aa6b659d"
        case .started: "37db78a4b491494b912282727ea4c8d8"
        case .stopped: "2ba38ae3c82d461db53c951d9546026e"
        case .virtualFunctionsEnabled: "eb381495c98c4bd1b78edc62159eb2c1"
        case .virtualFunctionsNotEnabled: "d473b12457204fbdb8e43cc4ead1fdb1"
        case .unserved: "532139fed9584ca390cdebf58e90d110"
        case .configHeld: "f3dafe38bb6545aa94c06638b339c54b"
        case .gpuPrepared: "7d4b06fc36bc4a6ca0dddde4394d53d2"
        }
    }

    /// How severe an entry of this kind is.
    public var level: Logger.Level {
        switch self {
        case .failed, .configRejected, .stuck, .virtualFunctionsNotEnabled, .configHeld: .error
        case .blocked, .keptInUse, .parentGone, .unserved: .warning
        case .created, .removed, .configLoaded, .parentAppeared, .started, .stopped, .virtualFunctionsEnabled, .gpuPrepared: .notice
        }
    }
}

/// Metadata keys of the daemon's entries; the journald handler turns `mdev_parent` into `MDEV_PARENT`.
public enum JournalField {
    public static let messageID = "message_id"
    public static let uuid = "mdev_uuid"
    public static let type = "mdev_type"
    public static let parent = "mdev_parent"
    /// The physical GPU of a parent that is an SR-IOV virtual function.
    public static let card = "mdev_card"
    public static let configFile = "mdev_config_file"
    public static let configGeneration = "mdev_config_generation"
    public static let holder = "mdev_holder"
    /// The errno of a failed write, by name (`ENOSPC`).
    public static let errno = "mdev_errno"
    /// How a failed parent is retried (``RetryClass``: `no-capacity`, `transient`, ...).
    public static let retry = "mdev_retry"
}

extension Logger {
    /// Writes one structured entry of `kind`, located at the caller (`CODE_FILE`, `CODE_LINE`).
    public func event(
        _ kind: JournalEvent, _ message: @autoclosure () -> String, _ metadata: [String: String] = [:],
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        var fields: Logger.Metadata = [JournalField.messageID: .string(kind.messageID)]
        for (key, value) in metadata { fields[key] = .string(value) }
        log(level: kind.level, "\(message())", metadata: fields, file: file, function: function, line: line)
    }
}
