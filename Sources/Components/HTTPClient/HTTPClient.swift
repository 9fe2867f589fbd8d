import WorkermanEventLoop
import WorkermanTLS
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
    /// How `https://` servers are verified (on by default), and a client certificate.
    public var tls = HTTPClientTLSOptions()
    /// An HTTP proxy for every request, `http://[user:password@]host:port` (nil: none). `https://` goes
    /// through a `CONNECT` tunnel, so the proxy never sees more than the host name.
    public var proxy: String?

    public init() {}
}

/// An HTTP/1.1 client on the loop: keep-alive pools per origin, redirects by RFC 9110's method rules,
/// time-outs, gzip/deflate, a strict response parser with size limits. Every call completes once, on
/// the loop, with a typed `HTTPClientError` naming the origin and cause: an async form is a thin
/// wrapper (`try await client.get(url)`). `https://` is TLS with verification on (`configuration.tls`);
/// without OpenSSL 3 on the machine such requests fail with `.tlsUnavailable`.
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
    /// Made at the first `https://` request and shared by all its connections (one OpenSSL context).
    private var tlsConfiguration: TLSClientConfiguration?

    public init(loop: EventLoop, configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.loop = loop
        self.configuration = configuration
    }

    /// Dropping the client closes its connections (requests in flight fail with `.cancelled`).
    deinit { close() }

    /// `GET url` with optional headers and query parameters.
    @discardableResult
    public func get(
        _ url: String,
        headers: [(String, String)] = [],
        query: [(String, String)] = [],
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> HTTPClientTask {
        send(method: "GET", url, headers: headers, query: query, body: nil, completion)
    }

    /// `POST url` with a body (bytes, form, JSON, multipart).
    @discardableResult
    public func post(
        _ url: String,
        headers: [(String, String)] = [],
        body: HTTPClientBody,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> HTTPClientTask {
        send(method: "POST", url, headers: headers, query: [], body: body, completion)
    }

    private func send(
        method: String,
        _ url: String,
        headers: [(String, String)],
        query: [(String, String)],
        body: HTTPClientBody?,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> HTTPClientTask {
        do {
            var request = try HTTPClientRequest(method: method, url: url, headers: headers, body: body)
            request.query = query
            return self.request(request, completion)
        } catch {
            loop.nextTick { completion(.failure(error)) }
            return HTTPClientTask(loop: loop)
        }
    }

    /// Sends `request`, following redirects; `completion` gets the final response. The task returned
    /// cancels it.
    @discardableResult
    public func request(_ request: HTTPClientRequest, _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) -> HTTPClientTask {
        start(request, sink: nil, completion)
    }

    /// Starts `request` (a streamed one when `sink` is set).
    func start(
        _ request: HTTPClientRequest, sink: HTTPResponseSink?, _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> HTTPClientTask {
        let task = HTTPClientTask(loop: loop)
        let deadline = Double(loop.clock.nanoseconds()) / 1e9 + configuration.requestTimeout
        perform(request, task: task, sink: sink, redirects: 0, deadline: deadline, completion)
        return task
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
        task: HTTPClientTask,
        sink: HTTPResponseSink?,
        redirects: Int,
        deadline: Double,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) {
        guard !task.isCancelled else {
            return loop.nextTick { completion(.failure(HTTPClientError(.cancelled, "\(request.url.origin): cancelled"))) }
        }
        let pool: HTTPConnectionPool
        let bytes: ByteBuffer
        do {
            pool = try self.pool(for: request.url)
            // A streamed response is handed over as it comes: it is not asked for compressed.
            bytes = try request.encoded(
                acceptEncoding: sink == nil && configuration.decompress && ContentDecoder.isAvailable, absoluteForm: pool.route.absoluteForm,
                proxyAuthorization: pool.route.proxyAuthorization)
        } catch {
            return loop.nextTick { completion(.failure(error)) }
        }
        let exchange = HTTPExchange(request: request, bytes: bytes) { [weak self] result in
            guard let self else { return completion(result) }
            if case .success(let response) = result, let next = self.redirect(request, response) {
                guard redirects < self.configuration.maxRedirects else {
                    return completion(.failure(HTTPClientError(.tooManyRedirects, "\(request.url): more than \(self.configuration.maxRedirects) redirects")))
                }
                return self.perform(next, task: task, sink: sink, redirects: redirects + 1, deadline: deadline, completion)
            }
            completion(result)
        }
        if let sink {
            // Only a streamed exchange asks (a buffered one needs no closure per request).
            exchange.sink = sink
            exchange.willRedirect = { [weak self] head in
                self?.redirect(request, HTTPClientResponse(head: head, body: ByteBuffer(), url: request.url)) != nil
            }
        }
        task.exchange = exchange
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

    /// The pool for `url`'s origin: the one place a transport is chosen (TLS, a proxy, a tunnel).
    private func pool(for url: HTTPURL) throws(HTTPClientError) -> HTTPConnectionPool {
        if let pool = pools[url.origin] { return pool }
        let pool = HTTPConnectionPool(loop: loop, url: url, route: try route(to: url), configuration: configuration)
        pools[url.origin] = pool
        return pool
    }

    private func route(to url: HTTPURL) throws(HTTPClientError) -> HTTPRoute {
        var tls: TLSClientConfiguration?
        if url.scheme == "https" {
            if let tlsConfiguration {
                tls = tlsConfiguration
            } else {
                do {
                    tls = try configuration.tls.makeConfiguration()
                } catch {
                    throw HTTPClientError(error.code, "\(url.origin): \(error.detail)")
                }
                tlsConfiguration = tls
            }
        }
        let host = url.host.contains(":") ? "[\(url.host)]" : url.host
        guard let proxyURL = configuration.proxy else {
            return HTTPRoute(address: "tcp://\(host):\(url.port)", security: tls, tunnel: nil, absoluteForm: false, proxyAuthorization: nil)
        }
        let proxy = try HTTPProxy(proxyURL)
        guard let tls else {
            return HTTPRoute(address: "tcp://\(proxy.address)", security: nil, tunnel: nil, absoluteForm: true, proxyAuthorization: proxy.authorization)
        }
        let tunnel = HTTPRoute.Tunnel(tls: tls, authority: "\(host):\(url.port)", serverName: url.host)
        return HTTPRoute(address: "tcp://\(proxy.address)", security: nil, tunnel: tunnel, absoluteForm: false, proxyAuthorization: proxy.authorization)
    }

    /// The request a redirect response asks for, or nil (RFC 9110 section 15.4: 303 becomes GET, as do
    /// 301/302 after a POST; 307/308 keep method and body; credentials do not cross origins).
    private func redirect(_ request: HTTPClientRequest, _ response: HTTPClientResponse) -> HTTPClientRequest? {
        guard let location = redirectTarget(response.head), let target = try? request.url.resolving(location) else { return nil }
        var next = request
        next.url = target
        next.query = []
        let changesToGET = response.status == 303 && request.method != "HEAD" || (response.status == 301 || response.status == 302) && request.method == "POST"
        // A streamed body was consumed by the first request: the redirect is the answer.
        if request.body?.isStream == true && !changesToGET { return nil }
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

    /// The `Location` a response sends the client to, when it follows it.
    private func redirectTarget(_ head: HTTPResponseHead) -> String? {
        guard configuration.followRedirects, [301, 302, 303, 307, 308].contains(head.status) else { return nil }
        return head.header("location")
    }
}
