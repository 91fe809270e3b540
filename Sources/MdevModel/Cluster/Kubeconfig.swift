import FoundationEssentials

/// The parts of a kubeconfig file the cluster agent uses: its context's server, whom to trust and how to
/// prove who it is. Paths in it are relative to the file's directory, as kubectl reads them.
public struct Kubeconfig: Sendable, Hashable {
    /// A PEM file's path or its text (`*-data`, base64 in the file).
    public enum PEM: Sendable, Hashable {
        case file(String)
        case data([UInt8])
    }

    public var server: String
    public var certificateAuthority: PEM?
    public var clientCertificate: PEM?
    public var clientKey: PEM?
    public var token: String?
    /// A file holding the token, read again as it rotates.
    public var tokenFile: String?

    /// Reads `text`, the kubeconfig at `file`, for `context` (nil: its `current-context`).
    /// - Throws: ``InputError`` naming the field, for a missing context, cluster or user, or an unusable value
    ///   (`insecure-skip-tls-verify`, an exec or auth-provider plugin: not supported).
    public static func parse(_ text: String, file: String, context wanted: String? = nil) throws(InputError) -> Kubeconfig {
        guard let root = try ConfigParser.document(text, file: file) else {
            throw InputError(SourceLocation(file: file, line: 1, column: 1), field: "", "the kubeconfig is empty")
        }
        let top = try root.mapping()
        func value(_ entries: [YAMLField.Entry], _ key: String) -> YAMLField? {
            entries.first { $0.key == key && !$0.value.isNull }?.value
        }
        /// The entry named `name` of the list under `key` (`clusters`, `users`, `contexts`), its inner mapping.
        func named(_ key: String, _ name: String, inner: String, from field: YAMLField) throws(InputError) -> [YAMLField.Entry] {
            for item in try value(top, key)?.sequence() ?? [] {
                let entries = try item.mapping()
                if try value(entries, "name")?.string() == name {
                    return try value(entries, inner)?.mapping() ?? []
                }
            }
            throw field.error("no \(inner) named \(name.quoted) in '\(key)'")
        }
        let contextField: YAMLField
        let contextName: String
        if let wanted {
            contextField = root
            contextName = wanted
        } else {
            guard let current = value(top, "current-context") else { throw root.error("no current-context") }
            contextField = current
            contextName = try current.string()
        }
        let context = try named("contexts", contextName, inner: "context", from: contextField)
        guard let clusterField = value(context, "cluster"), let userField = value(context, "user") else {
            throw contextField.error("context \(contextName.quoted) names no cluster or no user")
        }
        let cluster = try named("clusters", try clusterField.string(), inner: "cluster", from: clusterField)
        let user = try named("users", try userField.string(), inner: "user", from: userField)
        guard let serverField = value(cluster, "server") else { throw clusterField.error("the cluster has no server") }
        let server = try serverField.string()
        guard server.hasPrefix("https://") else { throw serverField.error("the server must be https://, found \(server.quoted)") }
        if let insecure = value(cluster, "insecure-skip-tls-verify"), try insecure.bool() {
            throw insecure.error("insecure-skip-tls-verify is not supported: give the cluster's CA (certificate-authority)")
        }
        for plugin in ["exec", "auth-provider", "username", "password"] {
            if let field = value(user, plugin) {
                throw field.error("'\(plugin)' is not supported: use a token, a tokenFile or a client certificate")
            }
        }
        let directory = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        func path(_ text: String) -> String { text.hasPrefix("/") ? text : directory + "/" + text }
        func pem(_ entries: [YAMLField.Entry], _ key: String) throws(InputError) -> PEM? {
            if let data = value(entries, key + "-data") {
                guard let bytes = Data(base64Encoded: try data.string(), options: .ignoreUnknownCharacters) else {
                    throw data.error("not base64")
                }
                return .data(Array(bytes))
            }
            return try value(entries, key).map { field throws(InputError) in .file(path(try field.string())) }
        }
        return Kubeconfig(
            server: server, certificateAuthority: try pem(cluster, "certificate-authority"),
            clientCertificate: try pem(user, "client-certificate"), clientKey: try pem(user, "client-key"),
            token: try value(user, "token")?.string(), tokenFile: (try value(user, "tokenFile")?.string()).map(path))
    }
}
