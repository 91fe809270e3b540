import MdevModel
import MdevSysfs

/// Where the API server is and how to talk to it: a kubeconfig file, or the pod's service account (the
/// token and CA Kubernetes mounts, the address in `KUBERNETES_SERVICE_HOST` and `_PORT`).
public enum ClusterAccess {
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// A client for `kubeconfig`, or in-cluster when it is nil.
    /// - Throws: ``ClusterAccessError`` naming the file or variable that is missing or wrong.
    public static func client(
        kubeconfig: String?, environment: [String: String], userAgent: String,
        serviceAccount: String = serviceAccountDirectory
    ) throws(ClusterAccessError) -> KubeClient {
        if let kubeconfig {
            let text: String
            do {
                text = try ConfigFiles.readText(kubeconfig, what: "kubeconfig")
            } catch {
                throw ClusterAccessError(description: error.description)
            }
            let config: Kubeconfig
            do {
                config = try Kubeconfig.parse(text, file: kubeconfig)
            } catch {
                throw ClusterAccessError(description: error.description)
            }
            let tokens: any BearerTokens = config.tokenFile.map { TokenSource(path: $0) } ?? FixedToken(config.token)
            return KubeClient(
                server: config.server,
                credentials: TLSCredentials(
                    certificateAuthority: config.certificateAuthority, clientCertificate: config.clientCertificate, clientKey: config.clientKey),
                tokens: tokens, userAgent: userAgent)
        }
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw ClusterAccessError(
                description: "not in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set): give --kubeconfig")
        }
        let token = serviceAccount + "/token"
        guard FileSystem.exists(token) else {
            throw ClusterAccessError(description: "\(token) does not exist: the pod has no service account token mounted")
        }
        // An IPv6 address goes in brackets.
        let address = host.contains(":") ? "[\(host)]" : host
        return KubeClient(
            server: "https://\(address):\(port)", credentials: TLSCredentials(certificateAuthority: .file(serviceAccount + "/ca.crt")),
            tokens: TokenSource(path: token), userAgent: userAgent)
    }

    /// The agent's own namespace, where its settings ConfigMap is: `POD_NAMESPACE` (the downward API), else
    /// the service account's, else `mdev-reconciler`.
    public static func namespace(environment: [String: String], serviceAccount: String = serviceAccountDirectory) -> String {
        if let namespace = environment["POD_NAMESPACE"], !namespace.isEmpty { return namespace }
        if let bytes = try? FileSystem.readBytes(serviceAccount + "/namespace", limit: 256) {
            let text = String(decoding: bytes, as: UTF8.self).trimmingSpaces()
            if !text.isEmpty, LabelSyntax.problem(withNodeName: text) == nil { return text }
        }
        return "mdev-reconciler"
    }
}

/// The API server cannot be reached as asked: one line naming the file or variable.
public struct ClusterAccessError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
