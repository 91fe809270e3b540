/// The types this host wants, in order of preference, and where that list came from.
public struct WantedTypes: Sendable, Hashable, Codable {
    /// Where the list came from. Encoded as one string: `global`, `disabled`, or
    /// `nodeMediatedDeviceTypes[0,2]` (the indices of the matching entries).
    public enum Source: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The global `mediatedDeviceTypes` list.
        case global
        /// The union of the `nodeMediatedDeviceTypes` entries at these indices, whose selectors match this host.
        case nodeOverride(entries: [Int])
        /// `enabled: false`: nothing is managed.
        case disabled

        public var description: String {
            switch self {
            case .global: return "global"
            case .disabled: return "disabled"
            case .nodeOverride(let entries): return "nodeMediatedDeviceTypes[\(entries.map(String.init).joined(separator: ","))]"
            }
        }

        public init(from decoder: any Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            switch text {
            case "global": self = .global
            case "disabled": self = .disabled
            default:
                let prefix = "nodeMediatedDeviceTypes["
                guard text.hasPrefix(prefix), text.hasSuffix("]") else {
                    throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown source '\(text)'"))
                }
                let indices = text.dropFirst(prefix.count).dropLast().split(separator: ",").compactMap { Int($0) }
                self = .nodeOverride(entries: indices)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }
    }

    /// Type references (ids or names), duplicates dropped, in order of preference.
    public var types: [String]
    public var source: Source

    public init(types: [String], source: Source) {
        self.types = types
        self.source = source
    }

    /// Whether the config manages this host at all.
    public var isManaging: Bool { source != .disabled }

    /// Selects the types for a host with `labels`, following KubeVirt: the types of every matching
    /// `nodeMediatedDeviceTypes` entry are united (entry order, then list order, duplicates dropped); a
    /// non-empty union replaces the global list; otherwise the global list applies.
    public static func select(from config: MediatedDevicesConfiguration, labels: HostLabels) -> WantedTypes {
        guard config.enabled else { return WantedTypes(types: [], source: .disabled) }
        let matched = config.nodeMediatedDeviceTypes.indices.filter {
            labels.matches(config.nodeMediatedDeviceTypes[$0].nodeSelector)
        }
        let union = matched.flatMap { config.nodeMediatedDeviceTypes[$0].mediatedDeviceTypes }.uniqued()
        if !union.isEmpty { return WantedTypes(types: union, source: .nodeOverride(entries: matched)) }
        return WantedTypes(types: config.mediatedDeviceTypes.uniqued(), source: .global)
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each only at its first occurrence.
    func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
