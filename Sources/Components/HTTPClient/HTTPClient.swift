import WorkermanEventLoop
import WorkermanTransport

/// Limits and time-outs of an `HTTPClient`.
public struct HTTPClientConfiguration: Sendable {
    /// Connections kept per origin (scheme, host, port).
    public var maxConnectionsPerOrigin = 8
    /// Requests that may wait for a connection per origin; more fail with `.queueFull`.
    public var maxQueuedRequests = 1000
    public var connectTimeout = 10.0
    /// From the call to the whole response (queueing, connecting, redirects included).
    public var requestTimeout = 30.0
    /// An idle kept-alive connection closes after this long.
    public var idleTimeout = 60.0
    public var followRedirects = true
    public var maxRedirects = 5
    /// Ask for gzip/deflate and decode it (when zlib is there).
    public var decompress = true
    public var limits = HTTPResponseParser.Limits()

    public init() {}
}

/// An HTTP/1.1 client on the loop: keep-alive pools per origin, redirects by RFC 9110's method rules,
/// time-outs, gzip/deflate, a strict response parser with size limits. Every call completes once, on
/// the loop, with a typed `HTTPClientError` naming the origin and cause: an async form is a thin
/// wrapper. `https://` needs TLS: until this build has it, such requests fail with `.tlsUnavailable`.
///
/// ```swift
/// let client = HTTPClient(loop: loop)
/// client.get("http://127.0.0.1:8080/users", query: [("page", "2")]) { result in
///     switch result {
///     case .success(let response): print(response.status, response.text)
///     case .failure(let error): print(error)
///     }
/// }
/// client.post("http://127.0.0.1:8080/users", body: .json(#"{"name":"Ada"}"#)) { _ in }
/// ```
public final class HTTPClient {
    public let loop: EventLoop
    public var configuration: HTTPClientConfiguration
    private var pools: [String: HTTPConnectionPool] = [:]
    private var live: [ObjectIdentifier: HTTPExchange] = [:]

    public init(loop: EventLoop, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.loop = loop
        self.configuration = configuration
    }

    /// Dropping the client closes its connections (requests in flight fail with `.cancelled`).
    deinit { close() }

    /// `GET url` with optional headers and query parameters.
    public func get(
        _ url: String,
        headers: [(String, String)] = [],
        query: [(String, String)] = [],
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) {
        send(method: "GET", url, headers: headers, query: query, body: nil, completion)
    }

    /// `POST url` with a body (bytes, form, JSON, multipart).
    public func post(
        _ url: String,
        headers: [(String, String)] = [],
        body: HTTPClientBody,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) {
        send(method: "POST", url, headers: headers, query: [], body: body, completion)
    }

    private func send(
        method: String,
        _ url: String,
        headers: [(String, String)],
        query: [(String, String)],
        body: HTTPClientBody?,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) {
        do {
            var request = try HTTPClientRequest(method: method, url: url, headers: headers, body: body)
            request.query = query
            self.request(request, completion)
        } catch {
            loop.nextTick { completion(.failure(error)) }
        }
    }

    /// Sends `request`, following redirects; `completion` gets the final response.
    public func request(_ request: HTTPClientRequest, _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) {
        let deadline = Double(loop.clock.nanoseconds()) / 1e9 + configuration.requestTimeout
        perform(request, redirects: 0, deadline: deadline, completion)
    }

    /// Closes every connection; requests in flight fail with `.cancelled`.
    public func close() {
        for exchange in Array(live.values) {
            let connection = exchange.connection
            exchange.complete(.failure(HTTPClientError(.cancelled, "\(exchange.request.url.origin): the client was closed")), on: loop)
            connection?.close()
        }
        for pool in pools.values { pool.closeAll() }
        pools.removeAll()
    }

    /// Connections open to `origin` (`http://host:port`) and how many were ever opened.
    public func connectionCounts(origin: String) -> (open: Int, opened: Int) {
        guard let pool = pools[origin] else { return (0, 0) }
        return (pool.connectionCount, pool.openedCount)
    }

    // MARK: - Plumbing

    private func perform(
        _ request: HTTPClientRequest,
        redirects: Int,
        deadline: Double,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) {
        let pool: HTTPConnectionPool
        let bytes: ByteBuffer
        do {
            pool = try self.pool(for: request.url)
            bytes = try request.encoded(acceptEncoding: configuration.decompress && ContentDecoder.isAvailable)
        } catch {
            return loop.nextTick { completion(.failure(error)) }
        }
        let exchange = HTTPExchange(request: request, bytes: bytes) { [weak self] result in
            guard let self else { return completion(result) }
            if case .success(let response) = result, let next = self.redirect(request, response) {
                guard redirects < self.configuration.maxRedirects else {
                    return completion(.failure(HTTPClientError(.tooManyRedirects, "\(request.url): more than \(self.configuration.maxRedirects) redirects")))
                }
                return self.perform(next, redirects: redirects + 1, deadline: deadline, completion)
            }
            completion(result)
        }
        let key = ObjectIdentifier(exchange)
        live[key] = exchange
        let remaining = max(0.001, deadline - Double(loop.clock.nanoseconds()) / 1e9)
        exchange.timer = try? loop.addTimer(after: remaining) { [weak self, weak exchange] in
            guard let self, let exchange else { return }
            exchange.timer = nil
            // Completed first: the close that follows then finds nothing waiting on the connection.
            let connection = exchange.connection
            exchange.complete(.failure(HTTPClientError(.timeout, "\(request.url.origin): no complete response within \(self.configuration.requestTimeout) s")), on: self.loop)
            connection?.close()
        }
        let completionBody = exchange.completion
        exchange.completion = { [weak self] result in
            self?.live[key] = nil
            completionBody?(result)
        }
        pool.execute(exchange)
    }

    /// The pool for `url`'s origin: the one place a transport is chosen (TLS plugs in here).
    private func pool(for url: HTTPURL) throws(HTTPClientError) -> HTTPConnectionPool {
        guard url.scheme == "http" else {
            throw HTTPClientError(.tlsUnavailable, "\(url.origin): TLS not available in this build (https needs the TLS module)")
        }
        if let pool = pools[url.origin] { return pool }
        let pool = HTTPConnectionPool(loop: loop, url: url, configuration: configuration)
        pools[url.origin] = pool
        return pool
    }

    /// The request a redirect response asks for, or nil (RFC 9110 section 15.4: 303 becomes GET, as do
    /// 301/302 after a POST; 307/308 keep method and body; credentials do not cross origins).
    private func redirect(_ request: HTTPClientRequest, _ response: HTTPClientResponse) -> HTTPClientRequest? {
        guard configuration.followRedirects, [301, 302, 303, 307, 308].contains(response.status),
            let location = response.header("location"), let target = try? request.url.resolving(location)
        else { return nil }
        var next = request
        next.url = target
        next.query = []
        if response.status == 303 && request.method != "HEAD" || (response.status == 301 || response.status == 302) && request.method == "POST" {
            next.method = "GET"
            next.body = nil
            next.headers.removeAll { ["content-type", "content-length"].contains($0.0.lowercased()) }
        }
        if target.origin != request.url.origin {
            next.headers.removeAll { ["authorization", "cookie", "proxy-authorization", "host"].contains($0.0.lowercased()) }
        }
        return next
    }
}
