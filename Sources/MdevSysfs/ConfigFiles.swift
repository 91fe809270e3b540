import FoundationEssentials
import MdevModel

/// Reads the config and labels files from disk and parses them.
public struct ConfigFiles: Sendable {
    /// The config file.
    public var configFile: String
    /// The labels file, and whether it must exist (given explicitly) or may be absent (the default one).
    public var labelsFile: String
    public var labelsFileRequired: Bool
    /// The node name, for the built-in labels.
    public var nodeName: String

    public init(configFile: String, labelsFile: String, labelsFileRequired: Bool, nodeName: String) {
        self.configFile = configFile
        self.labelsFile = labelsFile
        self.labelsFileRequired = labelsFileRequired
        self.nodeName = nodeName
    }

    /// The config and the host's labels, and the config's warnings.
    public struct Loaded: Sendable, Hashable {
        public var config: ReconcilerConfig
        public var labels: HostLabels
        public var warnings: [String]
        /// Where each type reference is first named, for warnings about a type (``validate``); not part of
        /// what the config says, so two configs that differ only in layout are equal.
        public var typePositions: [String: FieldPosition] = [:]
        /// The ``InputDigest`` of the bytes read; not part of what the config says either.
        public var digest: String?

        public init(
            config: ReconcilerConfig, labels: HostLabels, warnings: [String] = [], typePositions: [String: FieldPosition] = [:],
            digest: String? = nil
        ) {
            self.config = config
            self.labels = labels
            self.warnings = warnings
            self.typePositions = typePositions
            self.digest = digest
        }

        public static func == (lhs: Loaded, rhs: Loaded) -> Bool {
            lhs.config == rhs.config && lhs.labels == rhs.labels && lhs.warnings == rhs.warnings
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(config)
            hasher.combine(labels)
            hasher.combine(warnings)
        }

        /// The types this host wants under this config and labels.
        public var wanted: WantedTypes { WantedTypes.select(from: config.mediatedDevices, labels: labels) }
    }

    /// Reads and parses both files.
    /// - Throws: ``InputError`` (with file, line and column) for bad content, ``InputFileError`` for a file
    ///   that cannot be read.
    public func load() throws -> Loaded {
        let config = try Self.readText(configFile, what: "config file")
        let labels = try readLabelsText()
        let result = try ConfigParser.parse(config, file: Self.displayName(configFile))
        return Loaded(
            config: result.config, labels: try parseLabels(labels), warnings: result.warnings.map(\.description),
            typePositions: result.typePositions, digest: InputDigest.of(config: config, labels: labels ?? ""))
    }

    /// The ``InputDigest`` of both files as they are now, whatever they hold; nil when one cannot be read.
    /// (For a config that was rejected: what the daemon did not take.)
    public func digest() -> String? {
        do {
            return InputDigest.of(config: try Self.readText(configFile, what: "config file"), labels: try readLabelsText() ?? "")
        } catch {
            return nil
        }
    }

    /// Built-in labels plus the labels file's: the default one only if it exists, a given one always.
    public func loadLabels() throws -> HostLabels {
        try parseLabels(try readLabelsText())
    }

    /// The labels file's text; nil for a default one that does not exist.
    private func readLabelsText() throws(InputFileError) -> String? {
        if !labelsFileRequired && !FileSystem.exists(labelsFile) { return nil }
        return try Self.readText(labelsFile, what: "labels file")
    }

    private func parseLabels(_ text: String?) throws(InputError) -> HostLabels {
        let builtIn = HostLabels.builtIn(nodeName: nodeName)
        guard let text else { return builtIn }
        return builtIn.overridden(by: try LabelsFileParser.parse(text, file: labelsFile))
    }

    /// The largest config or labels file read: 1 MiB. A config for the largest hosts is a few KiB; a file
    /// beyond this is a mistake, and parsing it whole could take much memory and time.
    public static let sizeLimit = 1 << 20

    /// The path that stands for standard input (`--config -`).
    public static let standardInput = "-"

    /// How messages name `path`: standard input as `<stdin>`, as compilers name it.
    public static func displayName(_ path: String) -> String { path == standardInput ? "<stdin>" : path }

    /// The content of a text input file, or of standard input for ``standardInput``.
    public static func readText(_ path: String, what: String) throws(InputFileError) -> String {
        let bytes: [UInt8]
        do {
            bytes = path == standardInput
                ? try FileSystem.readStandardInput(limit: sizeLimit) : try FileSystem.readBytes(path, limit: sizeLimit)
        } catch {
            let reason = switch error.errno {
            case .noSuchFileOrDirectory: "does not exist"
            case .fileTooLarge: "is larger than \(sizeLimit / 1024) KiB, the most a \(what) may be"
            default: "cannot be read: \(error.errno.explanationForMdev)"
            }
            throw InputFileError(description: "\(what) \(displayName(path)) \(reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = Self.firstInvalidUTF8(bytes)
            let location = SourceLocation(file: displayName(path), byteOffset: offset, in: bytes)
            throw InputFileError(description: "\(location): the \(what) is not UTF-8 text (byte \(offset + 1) is not)")
        }
        return text
    }
}

extension ConfigFiles {
    /// The offset of the first byte that does not belong to a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var decoder = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return offset
            case .error: return offset
            }
        }
    }
}

/// An input file that could not be read, with the reason.
public struct InputFileError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}
