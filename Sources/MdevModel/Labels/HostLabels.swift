/// The labels this host carries: built-in ones plus those of the labels file, which override them.
public struct HostLabels: Sendable, Hashable, Codable {
    /// The labels in order: built-ins first, then the file's new keys in file order.
    public private(set) var labels: [Label]
    /// Where each key is in `labels`: setting and looking up a label take constant time, so a file of many
    /// labels is read in linear time.
    private var positions: [String: Int] = [:]

    public init(_ labels: [Label] = []) {
        self.labels = []
        for label in labels { set(label) }
    }

    private enum CodingKeys: String, CodingKey { case labels }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.container(keyedBy: CodingKeys.self).decode([Label].self, forKey: .labels))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(labels, forKey: .labels)
    }

    /// The built-in labels of a host, as Kubernetes would set them on its node.
    /// - Parameters:
    ///   - nodeName: the node name (already lower-cased), `kubernetes.io/hostname`.
    ///   - architecture: Go's name for the CPU architecture (`amd64`, `arm64`).
    public static func builtIn(nodeName: String, architecture: String = HostLabels.currentArchitecture) -> HostLabels {
        HostLabels([
            Label(key: "kubernetes.io/hostname", value: nodeName),
            Label(key: "kubernetes.io/os", value: "linux"),
            Label(key: "kubernetes.io/arch", value: architecture),
        ])
    }

    /// Go's `GOARCH` name of the architecture this program was built for.
    public static var currentArchitecture: String {
        #if arch(x86_64)
            return "amd64"
        #elseif arch(arm64)
            return "arm64"
        #elseif arch(powerpc64le)
            return "ppc64le"
        #elseif arch(s390x)
            return "s390x"
        #elseif arch(i386)
            return "386"
        #elseif arch(arm)
            return "arm"
        #else
            return "unknown"
        #endif
    }

    /// Adds `label`, replacing the value of an existing label with the same key.
    public mutating func set(_ label: Label) {
        if let index = positions[label.key] {
            labels[index].value = label.value
        } else {
            positions[label.key] = labels.count
            labels.append(label)
        }
    }

    /// The labels with `other`'s labels added on top.
    public func overridden(by other: [Label]) -> HostLabels {
        var result = self
        for label in other { result.set(label) }
        return result
    }

    /// The value of `key`, if the host has it.
    public subscript(key: String) -> String? {
        positions[key].map { labels[$0].value }
    }

    /// Whether every label of `selector` is among this host's labels. An empty selector matches.
    public func matches(_ selector: [Label]) -> Bool {
        selector.allSatisfy { self[$0.key] == $0.value }
    }
}
