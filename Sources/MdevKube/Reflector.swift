import FoundationEssentials
import MdevModel
import MdevSysfs

/// Keeps a local copy of the objects one list URL selects, as client-go's reflector does: list, then watch
/// from the list's resourceVersion with bookmarks, each watch asking the server to end it after a random
/// 5-10 minutes (so a fleet's watches do not all restart at once) and started again from the last
/// resourceVersion seen. A resourceVersion the server no longer has (410 Gone, as the answer or as an
/// `ERROR` event inside the stream) makes it list again. Failures wait a ``Backoff``; a watch that failed to
/// connect is started again where it was, not listed again, as client-go does with a server that went away.
///
/// ``run()`` blocks its thread (libcurl) until the client's ``KubeClient/stop``.
public struct Reflector: Sendable {
    public var client: KubeClient
    /// The collection's path (`/api/v1/nodes`).
    public var path: String
    /// Its selector, already URL-encoded (`fieldSelector=metadata.name%3Dnode-1`), or empty.
    public var selector: String
    /// Every copy after a list and after each event that changed it, the objects by key.
    public var onChange: @Sendable ([String: KubeObject]) -> Void
    /// A failure, one line (what was asked and why it failed), already escaped.
    public var onProblem: @Sendable (String) -> Void
    /// The watch's resourceVersion is gone (410): the collection is listed anew. Not a failure.
    public var onExpired: @Sendable (String) -> Void = { _ in }
    /// The longest a watch may go without a byte before it is given up: its timeout and a margin.
    public var quietLimit: @Sendable (Int) -> Duration = { .seconds($0 + 60) }

    public init(
        client: KubeClient, path: String, selector: String,
        onChange: @escaping @Sendable ([String: KubeObject]) -> Void, onProblem: @escaping @Sendable (String) -> Void
    ) {
        self.client = client
        self.path = path
        self.selector = selector
        self.onChange = onChange
        self.onProblem = onProblem
    }

    private var stop: StopSignal { client.stop }

    /// Why a watch ended.
    enum WatchEnd {
        /// The server ended it (its timeout): watch again from the last resourceVersion.
        case timedOut
        /// The resourceVersion is gone: list anew.
        case expired
        /// Anything else: wait, then list again at the last resourceVersion.
        case failed(String)
        /// The server could not be reached: wait, then watch again from where it was.
        case unreachable(String)
    }

    public func run() {
        var backoff = Backoff()
        var objects: [String: KubeObject] = [:]
        // client-go: the first list at "0" (the server's cache), a relist at the last one, after 410 at "".
        var listFrom = "0"
        while !stop.isStopped {
            guard let list = self.list(from: listFrom) else {
                if stop.wait(backoff.next(now: .now)) { return }
                continue
            }
            objects = Dictionary(list.items.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
            onChange(objects)
            var resourceVersion = list.metadata.resourceVersion ?? ""
            watching: while !stop.isStopped {
                switch watch(from: &resourceVersion, objects: &objects) {
                case .timedOut:
                    continue
                case .expired:
                    onExpired("watch \(path) from resourceVersion \(resourceVersion.escapingControlCharacters): expired, listing again")
                    listFrom = ""
                    break watching
                case .failed(let problem):
                    onProblem(problem)
                    listFrom = resourceVersion
                    if stop.wait(backoff.next(now: .now)) { return }
                    break watching
                case .unreachable(let problem):
                    onProblem(problem)
                    if stop.wait(backoff.next(now: .now)) { return }
                }
            }
        }
    }

    private func url(_ parameters: [String]) -> String {
        path + "?" + ([selector].filter { !$0.isEmpty } + parameters).joined(separator: "&")
    }

    private func list(from resourceVersion: String) -> ObjectList<KubeObject>? {
        let request = url(["resourceVersion=\(resourceVersion)"])
        do {
            let response = try client.get(request)
            guard response.status == 200 else {
                onProblem("list \(path): HTTP \(response.status): \(Self.message(response.body))")
                return nil
            }
            return try JSONDecoder().decode(ObjectList<KubeObject>.self, from: Data(response.body))
        } catch let error as TransportError {
            if !error.stopped { onProblem("list \(path): \(error.description.escapingControlCharacters)") }
        } catch {
            onProblem("list \(path): the answer is not a list: \("\(error)".escapingControlCharacters)")
        }
        return nil
    }

    private func watch(from resourceVersion: inout String, objects: inout [String: KubeObject]) -> WatchEnd {
        let timeout = Int.random(in: 300..<600)
        let request = url([
            "watch=1", "allowWatchBookmarks=true", "resourceVersion=\(resourceVersion)", "timeoutSeconds=\(timeout)",
        ])
        var end: WatchEnd?
        var version = resourceVersion
        var copy = objects
        let status: Int
        do {
            status = try client.watch(request, lowSpeed: quietLimit(timeout)) { line in
                // An ERROR event's object is a Status (which also decodes as an object with empty metadata).
                guard let event = WatchEvent<KubeObject>.decode(line), event.type != "ERROR" else {
                    if let error = WatchEvent<Status>.decode(line), error.type == "ERROR" {
                        end = error.object.code == 410 || error.object.reason == "Expired" || error.object.reason == "Gone"
                            ? .expired : .failed("watch \(path): \(Self.describe(error.object))")
                    } else if let status = try? JSONDecoder().decode(Status.self, from: Data(line)), status.code != nil {
                        end = status.code == 410 ? .expired : .failed("watch \(path): \(Self.describe(status))")
                    } else {
                        end = .failed("watch \(path): a line that is no event: \(String(decoding: line.prefix(200), as: UTF8.self).quoted)")
                    }
                    return false
                }
                let object = event.object
                if let next = object.metadata.resourceVersion { version = next }
                switch event.type {
                case "ADDED", "MODIFIED": copy[object.key] = object
                case "DELETED": copy[object.key] = nil
                case "BOOKMARK": return true
                default: return true
                }
                onChange(copy)
                return true
            }
        } catch {
            resourceVersion = version
            objects = copy
            return error.stopped ? .timedOut : .unreachable("watch \(path): \(error.description.escapingControlCharacters)")
        }
        resourceVersion = version
        objects = copy
        if let end { return end }
        switch status {
        case 200: return .timedOut
        case 410: return .expired
        default: return .failed("watch \(path): HTTP \(status)")
        }
    }

    static func describe(_ status: Status) -> String {
        "\(status.code.map { "HTTP \($0)" } ?? "error") \(status.reason ?? ""): \((status.message ?? "").escapingControlCharacters)"
    }

    /// The message of an error answer, escaped and cut.
    static func message(_ body: [UInt8]) -> String {
        if let status = try? JSONDecoder().decode(Status.self, from: Data(body)) { return (status.message ?? status.reason ?? "").quoted(upTo: 300) }
        return String(decoding: body.prefix(200), as: UTF8.self).quoted
    }
}
