/// Reads a config file in KubeVirt's schema.
///
/// Accepts a file whose top-level key is `mediatedDevicesConfiguration`, or a whole KubeVirt CR
/// (`kind: KubeVirt`, the block at `spec.configuration.mediatedDevicesConfiguration`, every other key of the
/// CR ignored). Either form may carry this program's own settings under the top-level key `mdevReconciler`.
public enum ConfigParser {
    /// A parsed config and the warnings found on the way.
    public struct Result: Sendable {
        public var config: ReconcilerConfig
        public var warnings: [InputWarning]
        /// Where each type reference of the lists in use is first named.
        public var typePositions: [String: FieldPosition] = [:]
    }

    static let blockKey = "mediatedDevicesConfiguration"
    static let settingsKey = "mdevReconciler"

    /// Parses `text`, the content of `file`.
    /// - Throws: ``InputError`` naming file, line, column and field of the first problem.
    public static func parse(_ text: String, file: String) throws(InputError) -> Result {
        try parse(root: try compose(text, file: file))
    }

    /// Parses a composed document (``document(_:file:)``).
    static func parse(root: YAMLField) throws(InputError) -> Result {
        var warnings: [InputWarning] = []
        guard case .mapping = root.node.content else {
            // Not quoted: a file that is no config (a key file given by mistake) must not be echoed.
            throw root.error("this is not a config file: expected a mapping with '\(blockKey)' or a KubeVirt CR, found \(root.shape)")
        }
        let top = try root.mapping()
        let isCR = top.contains { $0.key == "kind" || $0.key == "apiVersion" }
        var block: YAMLField?
        var settings = ReconcilerSettings()
        for entry in top {
            let (key, value) = (entry.key, entry.value)
            switch key {
            case settingsKey:
                settings = try parseSettings(value)
            case blockKey where !isCR:
                block = value
            case "kind" where isCR:
                let kind = try value.string()
                guard kind == "KubeVirt" else { throw value.error("expected kind KubeVirt, found \(kind.quoted)") }
            case "apiVersion" where isCR:
                let version = try value.string()
                guard version.hasPrefix("kubevirt.io/") else {
                    throw value.error("expected a kubevirt.io API version (kubevirt.io/v1), found \(version.quoted)")
                }
            case "spec" where isCR:
                block = try findBlock(inSpec: value)
            default:
                if isCR { continue }  // A CR's other keys (metadata, status, ...) are not ours.
                guard Self.looksLikeKey(key) else {
                    // Not quoted: the "key" may be a line of a file given by mistake (/etc/shadow).
                    throw root.error("this is not a config file: expected '\(blockKey)', '\(settingsKey)' or a KubeVirt CR at the top level")
                }
                throw entry.keyField.error("unknown top-level key \(key.quoted); expected '\(blockKey)', '\(settingsKey)' or a KubeVirt CR")
            }
        }
        guard let block else {
            let where_ = isCR ? "spec.configuration.\(blockKey)" : "'\(blockKey)'"
            throw root.error("no \(where_) found; this file configures no mediated devices")
        }
        var positions: [String: FieldPosition] = [:]
        let mediatedDevices = try parseBlock(block, warnings: &warnings, positions: &positions)
        return Result(
            config: ReconcilerConfig(mediatedDevices: mediatedDevices, settings: settings), warnings: warnings, typePositions: positions)
    }

    /// Reads a settings document, as the cluster's ConfigMap holds it in `settings.yaml`: a mapping whose only
    /// key is `mdevReconciler`. An empty document gives the defaults.
    /// - Throws: ``InputError`` naming file, line, column and field of the first problem.
    public static func parseSettingsDocument(_ text: String, file: String) throws(InputError) -> ReconcilerSettings {
        guard let root = try document(text, file: file) else { return ReconcilerSettings() }
        var settings = ReconcilerSettings()
        for entry in try root.mapping() {
            guard entry.key == settingsKey else {
                throw entry.keyField.error("unknown top-level key \(entry.key.quoted); a settings document holds only '\(settingsKey)'")
            }
            settings = try parseSettings(entry.value)
        }
        return settings
    }

    /// A name as config keys are written (`mediatedDeviceTypes`), not a line of some other file.
    static func looksLikeKey(_ key: String) -> Bool {
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) }
        guard let first = key.unicodeScalars.first, isLetter(first), key.unicodeScalars.count <= 63 else { return false }
        return key.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    private static func compose(_ text: String, file: String) throws(InputError) -> YAMLField {
        guard let root = try document(text, file: file) else {
            throw InputError(SourceLocation(file: file, line: 1, column: 1), field: "",
                             "the file is empty; expected '\(blockKey)' or a KubeVirt CR")
        }
        return root
    }

    /// The document in `text`, or nil when it holds none.
    static func document(_ text: String, file: String) throws(InputError) -> YAMLField? {
        let node: YAMLNode?
        do {
            node = try YAMLComposer.compose(text)
        } catch {
            throw InputError(yamlError: error, file: file, text: text)
        }
        return node.map { YAMLField(node: $0, path: "", file: file) }
    }

    private static func findBlock(inSpec spec: YAMLField) throws(InputError) -> YAMLField? {
        guard let configuration = try spec.mapping().first(where: { $0.key == "configuration" })?.value else {
            return nil
        }
        return try configuration.mapping().first(where: { $0.key == blockKey })?.value
    }

    private static func parseBlock(
        _ block: YAMLField, warnings: inout [InputWarning], positions: inout [String: FieldPosition]
    ) throws(InputError) -> MediatedDevicesConfiguration {
        var enabled = true
        var types = TypeLists()
        var nodeEntries: [NodeMediatedDeviceTypes] = []
        var nodeField: YAMLField?
        for entry in try block.mapping() {
            let (key, value) = (entry.key, entry.value)
            switch key {
            case "enabled": enabled = try value.bool()
            case "mediatedDeviceTypes", "mediatedDevicesTypes": try types.read(entry)
            case "nodeMediatedDeviceTypes":
                nodeField = value
                for entry in try value.sequence() {
                    nodeEntries.append(try parseNodeEntry(entry, warnings: &warnings, positions: &positions))
                }
            default:
                throw entry.keyField.error(
                    "unknown key \(key.quoted); known keys: enabled, mediatedDeviceTypes, mediatedDevicesTypes, nodeMediatedDeviceTypes")
            }
        }
        let global = types.resolved(warnings: &warnings, positions: &positions)
        if let nodeField, !nodeEntries.isEmpty, global.isEmpty {
            throw nodeField.error("nodeMediatedDeviceTypes needs a global mediatedDeviceTypes list; KubeVirt does not support it alone")
        }
        return MediatedDevicesConfiguration(enabled: enabled, mediatedDeviceTypes: global, nodeMediatedDeviceTypes: nodeEntries)
    }

    private static func parseNodeEntry(
        _ entry: YAMLField, warnings: inout [InputWarning], positions: inout [String: FieldPosition]
    ) throws(InputError) -> NodeMediatedDeviceTypes {
        var selector: [Label] = []
        var types = TypeLists()
        for item in try entry.mapping() {
            let (key, value) = (item.key, item.value)
            switch key {
            case "nodeSelector":
                if value.isNull { continue }
                for label in try value.mapping() {
                    if let problem = LabelSyntax.problem(withKey: label.key) { throw label.keyField.error(problem) }
                    let text = try label.value.string()
                    if let problem = LabelSyntax.problem(withValue: text) { throw label.value.error(problem) }
                    selector.append(Label(key: label.key, value: text))
                }
            case "mediatedDeviceTypes", "mediatedDevicesTypes": try types.read(item)
            default:
                throw item.keyField.error("unknown key \(key.quoted); known keys: nodeSelector, mediatedDeviceTypes, mediatedDevicesTypes")
            }
        }
        return NodeMediatedDeviceTypes(nodeSelector: selector, mediatedDeviceTypes: types.resolved(warnings: &warnings, positions: &positions))
    }

    private static func parseSettings(_ field: YAMLField) throws(InputError) -> ReconcilerSettings {
        var settings = ReconcilerSettings()
        if field.isNull { return settings }
        for entry in try field.mapping() {
            switch entry.key {
            case "removeForeignDevices": settings.removeForeignDevices = try entry.value.bool()
            case "enableVirtualFunctions": settings.enableVirtualFunctions = try entry.value.bool()
            case "manageMIG": settings.manageMIG = try entry.value.bool()
            case "rebalance":
                let text = try entry.value.string()
                guard let policy = RebalancePolicy(rawValue: text) else {
                    throw entry.value.error("expected one of \(RebalancePolicy.allCases.map(\.rawValue.quoted).joined(separator: ", ")), found \(text.quoted)")
                }
                settings.rebalance = policy
            default:
                throw entry.keyField.error("unknown key \(entry.key.quoted); known keys: removeForeignDevices, enableVirtualFunctions, rebalance, manageMIG")
            }
        }
        return settings
    }
}

/// The two spellings of a type list: `mediatedDeviceTypes` and the deprecated `mediatedDevicesTypes`,
/// which is used only when the current one is absent or empty.
private struct TypeLists {
    var current: [String] = []
    var currentPositions: [FieldPosition] = []
    /// The deprecated list and its key, where warnings point.
    var deprecated: (types: [String], positions: [FieldPosition], key: YAMLField)?

    mutating func read(_ entry: YAMLField.Entry) throws(InputError) {
        var types: [String] = []
        var positions: [FieldPosition] = []
        for item in try entry.value.sequence() {
            let name = try item.string()
            if let problem = MdevTypeReference.problem(with: name) { throw item.error(problem) }
            types.append(name)
            positions.append(FieldPosition(location: item.location, field: item.path))
        }
        if entry.key == "mediatedDevicesTypes" { deprecated = (types, positions, entry.keyField) } else { (current, currentPositions) = (types, positions) }
    }

    /// The list in use, its items' positions added to `positions` (where a type is first named).
    func resolved(warnings: inout [InputWarning], positions: inout [String: FieldPosition]) -> [String] {
        var used = (current, currentPositions)
        if let deprecated {
            if current.isEmpty {
                warnings.append(deprecated.key.warning("'mediatedDevicesTypes' is deprecated; rename it to 'mediatedDeviceTypes'"))
                used = (deprecated.types, deprecated.positions)
            } else {
                warnings.append(deprecated.key.warning("'mediatedDevicesTypes' is deprecated and ignored because 'mediatedDeviceTypes' is set"))
            }
        }
        for (type, position) in zip(used.0, used.1) where positions[type] == nil { positions[type] = position }
        return used.0
    }
}

extension InputError {
    /// A YAML syntax error located in `file`.
    init(yamlError: YAMLError, file: String, text: String) {
        let location = switch yamlError.position {
        case .mark(let mark): SourceLocation(file: file, line: mark.line, column: mark.column)
        case .byteOffset(let offset): SourceLocation(file: file, byteOffset: offset, in: text.utf8)
        }
        self.init(location, field: "", yamlError.message)
    }
}
