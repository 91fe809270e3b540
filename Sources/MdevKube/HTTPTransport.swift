import CCurl
import Glibc
import MdevModel
import MdevSysfs

/// One HTTP request of the agent to the API server.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: Headers
    public var body: String?
    /// How long the whole request may take; nil for a watch, which `lowSpeed` bounds instead.
    public var timeout: Duration?
    /// A watch that receives nothing at all (not even a bookmark) for this long is dead.
    public var lowSpeed: Duration?

    public struct Headers: Sendable {
        public var contentType: String?
        public var accept: String? = "application/json"
    }

    public init(method: String = "GET", url: String, contentType: String? = nil, body: String? = nil,
                timeout: Duration? = .seconds(30), lowSpeed: Duration? = nil) {
        self.method = method
        self.url = url
        headers = Headers(contentType: contentType)
        self.body = body
        self.timeout = timeout
        self.lowSpeed = lowSpeed
    }
}

/// How the agent proves who it is and whom it trusts.
public struct TLSCredentials: Sendable, Hashable {
    /// A PEM file's path, or its text (a kubeconfig's `*-data`).
    public typealias PEM = Kubeconfig.PEM

    /// The CA bundle that signed the API server's certificate; nil: the system's.
    public var certificateAuthority: PEM?
    /// A client certificate and its key, where a kubeconfig gives them.
    public var clientCertificate: PEM?
    public var clientKey: PEM?

    public init(certificateAuthority: PEM? = nil, clientCertificate: PEM? = nil, clientKey: PEM? = nil) {
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }
}

/// A request that got no HTTP answer (connection refused, TLS, timeout), or was stopped.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libcurl's result code.
    public var code: Int32
    public var message: String
    /// Stopped by the caller (`onData` or `shouldStop`), not by a failure.
    public var stopped: Bool

    public var description: String { stopped ? "stopped" : "\(message) (libcurl \(code))" }
}

/// Sends requests through Debian's libcurl (``CCurl``), on the calling thread.
public struct CurlTransport: Sendable {
    public let credentials: TLSCredentials
    /// `mdev-reconciler/VERSION`, as the API server's logs and audit name the client.
    public var userAgent: String?

    public init(credentials: TLSCredentials, userAgent: String? = nil) {
        _ = Self.initialised
        self.credentials = credentials
        self.userAgent = userAgent
    }

    private static let initialised: Bool = ccurl_global_init() == 0

    /// Why libcurl could not be opened (it is opened at run time, by the first transport), or nil.
    public static var unavailable: String? {
        initialised ? nil : String(cString: ccurl_load_error()).escapingControlCharacters
    }

    /// Performs `request` with `authorization` (an `Authorization` header value), handing each piece of the
    /// body to `onData` as it arrives (return false: the caller has what it wanted, and the request ends).
    /// When `stop` stops, the request ends at once (``TransportError/stopped``), also in the middle of a watch.
    /// - Returns: the HTTP status.
    public func perform(
        _ request: HTTPRequest, authorization: String?, stop: StopSignal? = nil, onData: @escaping ([UInt8]) -> Bool
    ) throws(TransportError) -> Int {
        final class Callbacks {
            let onData: ([UInt8]) -> Bool
            /// `onData` declined a piece: the caller has what it wanted, which is no failure.
            var declined = false
            init(onData: @escaping ([UInt8]) -> Bool) {
                self.onData = onData
            }
        }
        let callbacks = Callbacks(onData: onData)
        /// libcurl's waker, woken by `stop` from the thread that stops.
        struct Waker: @unchecked Sendable { let pointer: OpaquePointer }
        let waker = stop != nil ? ccurl_waker_new().map(Waker.init) : nil
        defer { waker.map { ccurl_waker_free($0.pointer) } }
        let registration = waker.flatMap { waker in stop?.whenStopped { ccurl_waker_wake(waker.pointer) } }
        // Before the waker is freed (defers run in reverse order): once removed, no wake is running.
        defer { stop?.remove(registration) }
        // The C strings live until the request ends.
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { owned.forEach { free($0) } }
        func c(_ text: String?) -> UnsafePointer<CChar>? {
            guard let text, let copy = strdup(text) else { return nil }
            owned.append(copy)
            return UnsafePointer(copy)
        }
        var call = ccurl_request()
        call.url = c(request.url)
        call.method = c(request.method)
        call.authorization = c(authorization)
        func file(_ pem: TLSCredentials.PEM?) -> UnsafePointer<CChar>? {
            if case .file(let path)? = pem { return c(path) }
            return nil
        }
        func data(_ pem: TLSCredentials.PEM?) -> (UnsafePointer<CChar>?, Int) {
            guard case .data(let bytes)? = pem, let copy = malloc(max(bytes.count, 1))?.assumingMemoryBound(to: CChar.self) else { return (nil, 0) }
            bytes.withUnsafeBytes { UnsafeMutableRawPointer(copy).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            owned.append(copy)
            return (UnsafePointer(copy), bytes.count)
        }
        call.ca_file = file(credentials.certificateAuthority)
        call.client_cert = file(credentials.clientCertificate)
        call.client_key = file(credentials.clientKey)
        (call.ca_pem, call.ca_pem_length) = data(credentials.certificateAuthority)
        (call.client_cert_pem, call.client_cert_pem_length) = data(credentials.clientCertificate)
        (call.client_key_pem, call.client_key_pem_length) = data(credentials.clientKey)
        call.content_type = c(request.headers.contentType)
        call.accept = c(request.headers.accept)
        call.user_agent = c(userAgent)
        call.connect_timeout_ms = 10_000
        call.timeout_ms = request.timeout.map { Int($0.components.seconds) * 1000 } ?? 0
        call.low_speed_seconds = request.lowSpeed.map { Int($0.components.seconds) } ?? 0
        call.on_data = { data, length, context in
            let callbacks = Unmanaged<Callbacks>.fromOpaque(context!).takeUnretainedValue()
            guard callbacks.onData(Array(UnsafeRawBufferPointer(start: data, count: length))) else {
                callbacks.declined = true
                return 0
            }
            return length
        }
        call.waker = waker?.pointer
        var result = ccurl_result()
        withExtendedLifetime(callbacks) {
            call.context = Unmanaged.passUnretained(callbacks).toOpaque()
            call.body = c(request.body)
            call.body_length = request.body?.utf8.count ?? 0
            ccurl_perform(&call, &result)
        }
        guard result.code == 0 || callbacks.declined else {
            let message = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw TransportError(code: result.code, message: message, stopped: ccurl_stopped_by_caller(result.code) != 0)
        }
        return Int(result.status)
    }
}
