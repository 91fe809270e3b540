import FoundationEssentials
import MdevModel

/// The opt-in nudge (`kube-agent --restart-virt-handler`): virt-handler's mdev device plugins keep the
/// devices they found when they started, so after the node converged to another set of devices the agent
/// deletes this node's virt-handler pod, and KubeVirt's DaemonSet starts a new one that finds them (README).
public struct VirtHandlerRestart: Sendable {
    public var client: KubeClient
    public var namespace: String
    public var nodeName: String

    public init(client: KubeClient, namespace: String, nodeName: String) {
        self.client = client
        self.namespace = namespace
        self.nodeName = nodeName
    }

    /// What a converged node offers: its device count and wanted types (from the summary annotation); a
    /// change of either is a change virt-handler must see.
    struct Offer: Decodable, Hashable {
        var devices: Int
        var wanted: [String]
    }

    /// Whether `summary` (a ``NodeReport`` summary) offers other devices than `before` (nil: not known).
    static func differs(_ summary: String?, from before: String?) -> Bool {
        func offer(_ text: String?) -> Offer? { text.flatMap { try? JSONDecoder().decode(Offer.self, from: Data($0.utf8)) } }
        guard let now = offer(summary) else { return false }
        return offer(before) != now
    }

    /// Deletes this node's virt-handler pods (label `kubevirt.io=virt-handler`); returns their names.
    func restart() throws(NodeReporter.Failure) -> [String] {
        let pods = "/api/v1/namespaces/\(namespace)/pods"
        let list: KubeClient.Response
        do {
            list = try client.get(pods + "?labelSelector=kubevirt.io%3Dvirt-handler&fieldSelector=spec.nodeName%3D\(nodeName)")
        } catch {
            throw NodeReporter.Failure(description: "list virt-handler pods: \(error.description.escapingControlCharacters)")
        }
        guard list.status == 200, let found = try? JSONDecoder().decode(ObjectList<MetadataOnly>.self, from: Data(list.body)) else {
            throw NodeReporter.Failure(description: "list virt-handler pods: HTTP \(list.status): \(Reflector.message(list.body))")
        }
        var deleted: [String] = []
        for pod in found.items {
            let response: KubeClient.Response
            do {
                response = try client.send(HTTPRequest(method: "DELETE", url: pods + "/" + pod.metadata.name))
            } catch {
                throw NodeReporter.Failure(description: "delete pod \(pod.metadata.name): \(error.description.escapingControlCharacters)")
            }
            guard response.status == 200 || response.status == 202 || response.status == 404 else {
                throw NodeReporter.Failure(description: "delete pod \(pod.metadata.name): HTTP \(response.status): \(Reflector.message(response.body))")
            }
            deleted.append(pod.metadata.name)
        }
        return deleted
    }
}
