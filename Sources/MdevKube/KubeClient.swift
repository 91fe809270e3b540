import FoundationEssentials
import MdevSysfs

/// The API server as the agent talks to it: where it is, whom to trust, and the bearer token (asked for
/// every request, and told when the server refused it: a refused request is sent once more with the token
/// read again, as a rotated projected token needs). When ``stop`` stops, every request in flight ends at once
/// (``TransportError/stopped``), a watch too.
public struct KubeClient: Sendable {
    /// `https://host:port`, without a trailing slash.
    public var server: String
    public var transport: CurlTransport
    public var tokens: any BearerTokens
    /// Requests sent so far (each retry counted), for the idle-load figure.
    public let requests = LockedValue(0)
    /// The agent's stop: ends the requests in flight, and the agent's waits.
    public let stop: StopSignal

    public init(
        server: String, credentials: TLSCredentials, tokens: any BearerTokens, userAgent: String? = nil, stop: StopSignal = StopSignal()
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        transport = CurlTransport(credentials: credentials, userAgent: userAgent)
        self.tokens = tokens
        self.stop = stop
    }

    private var authorization: String? { tokens.token().map { "Bearer \($0)" } }

    /// A whole response.
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// Sends `request` (its URL a path on the server) and collects the whole answer; after a 401, once more
    /// with the token read again.
    public func send(_ request: HTTPRequest) throws(TransportError) -> Response {
        var request = request
        request.url = server + request.url
        var response = try sendOnce(request)
        if response.status == 401 {
            tokens.invalidate()
            response = try sendOnce(request)
        }
        return response
    }

    private func sendOnce(_ request: HTTPRequest) throws(TransportError) -> Response {
        requests.withLock { $0 += 1 }
        var body: [UInt8] = []
        let status = try transport.perform(request, authorization: authorization, stop: stop) { piece in
            body += piece
            return true
        }
        return Response(status: status, body: body)
    }

    /// GET `path`.
    public func get(_ path: String) throws(TransportError) -> Response {
        try send(HTTPRequest(url: path))
    }

    /// Watches `path` (a watch URL), handing each event's line to `onEvent` as it arrives (false: stop).
    /// Returns the HTTP status once the server ends the watch, or throws when it could not be reached, a
    /// `lowSpeed` passed with nothing received, or ``stop`` stopped.
    public func watch(
        _ path: String, lowSpeed: Duration = .seconds(90),
        onEvent: @escaping ([UInt8]) -> Bool
    ) throws(TransportError) -> Int {
        var pending: [UInt8] = []
        var status = 0
        var errorBody: [UInt8] = []
        let request = HTTPRequest(url: server + path, timeout: nil, lowSpeed: lowSpeed)
        requests.withLock { $0 += 1 }
        status = try transport.perform(request, authorization: authorization, stop: stop, onData: { piece in
            pending += piece
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if !line.isEmpty, !onEvent(line) { return false }
            }
            // An answer that is not a stream of events (an error Status) is kept whole.
            if pending.count > 16 << 20 { return false }
            return true
        })
        errorBody = pending
        if !errorBody.isEmpty, status == 200 { _ = onEvent(errorBody) }
        // Refused: the next request reads the token again (the caller's retry of the watch).
        if status == 401 { tokens.invalidate() }
        return status
    }
}

/// One line of a watch: its type (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`) and its object.
public struct WatchEvent<Object: Decodable & Sendable>: Decodable, Sendable {
    public var type: String
    public var object: Object

    /// The event in `line`, or nil when the line is not one.
    public static func decode(_ line: [UInt8]) -> WatchEvent? {
        try? JSONDecoder().decode(WatchEvent.self, from: Data(line))
    }
}

/// What every object has: its metadata, the few fields the agent reads.
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// Empty in a `BOOKMARK` event's object, which carries only its resourceVersion.
    public var name: String
    public var namespace: String?
    public var resourceVersion: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var deletionTimestamp: String?

    private enum CodingKeys: String, CodingKey {
        case name, namespace, resourceVersion, labels, annotations, deletionTimestamp
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        namespace = try container.decodeIfPresent(String.self, forKey: .namespace)
        resourceVersion = try container.decodeIfPresent(String.self, forKey: .resourceVersion)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations)
        deletionTimestamp = try container.decodeIfPresent(String.self, forKey: .deletionTimestamp)
    }
}

/// An object of which only the metadata is read (a Node's labels, a KubeVirt CR's identity).
public struct MetadataOnly: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta
}

/// A list's metadata: the resourceVersion a watch starts from.
public struct ListMeta: Codable, Sendable, Hashable {
    public var resourceVersion: String?
}

/// A list of objects as the API server returns it.
public struct ObjectList<Item: Decodable & Sendable>: Decodable, Sendable {
    public var metadata: ListMeta
    public var items: [Item]
}

/// The API server's answer to a failed request, also inside a watch as an `ERROR` event (410: the
/// resourceVersion is too old).
public struct Status: Codable, Sendable, Hashable {
    public var code: Int?
    public var reason: String?
    public var message: String?
}
