import WorkermanEventLoop
import WorkermanTransport

/// One request on its way: what to send, whom to tell, and its deadline.
final class HTTPExchange {
    let request: HTTPClientRequest
    let bytes: ByteBuffer
    var completion: ((Result<HTTPClientResponse, HTTPClientError>) -> Void)?
    var timer: TimerID?
    weak var connection: HTTPClientConnection?
    /// Sent once already on a kept-alive connection that closed before answering.
    var retried = false
    /// Set for a streamed response.
    var sink: HTTPResponseSink?
    /// Whether the client will follow this head elsewhere (a streamed exchange then buffers it).
    var willRedirect: ((HTTPResponseHead) -> Bool)?

    init(request: HTTPClientRequest, bytes: ByteBuffer, completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) {
        self.request = request
        self.bytes = bytes
        self.completion = completion
    }

    var isDone: Bool { completion == nil }

    func complete(_ result: Result<HTTPClientResponse, HTTPClientError>, on loop: EventLoop) {
        guard let completion else { return }
        self.completion = nil
        if let timer { loop.cancelTimer(timer) }
        timer = nil
        sink = nil
        willRedirect = nil
        completion(result)
    }
}

/// One keep-alive connection to an origin, carrying one exchange at a time: writes the request, feeds
/// the strict parser, hands back the response, then returns to its pool (or closes, if the response
/// said so or was delimited by the close).
final class HTTPClientConnection {
    /// Weak: a client dropped with connections open must not leave them pointing at a freed pool.
    private weak var pool: HTTPConnectionPool?
    let loop: EventLoop
    private let origin: String
    private let configuration: HTTPClientConfiguration
    let tcp: TCPClient<RawCodec>
    private var parser: HTTPResponseParser
    private(set) var exchange: HTTPExchange?
    private(set) var isConnected = false
    private(set) var isClosed = false
    /// Responses completed on this connection (a reused connection has more than zero).
    private(set) var completedCount = 0
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var receivedAny = false
    private var lastError: TransportError?
    private var didConnect = false
    var idleTimer: TimerID?
    private let route: HTTPRoute
    /// Set while the proxy's answer to CONNECT is awaited (the tunnel's stream, to switch to TLS).
    private var tunnelling: TunnelSecurity?
    /// A streamed exchange handed over a piece and waits for `more()`: no event is taken meanwhile.
    private var awaitingDemand = false
    /// True while events are handed over (a `more()` from inside `onBody` then just lets the loop go on).
    private var delivering = false
    /// The head went to the sink (so the end is its completion, with an empty body).
    private var streamingBody = false
    /// The streamed request body being sent, if any.
    private var pump: HTTPBodyPump?

    init(pool: HTTPConnectionPool) throws(HTTPClientError) {
        self.pool = pool
        loop = pool.loop
        origin = pool.origin
        configuration = pool.configuration
        route = pool.route
        parser = HTTPResponseParser(limits: configuration.limits)
        do {
            tcp = try TCPClient<RawCodec>(loop: pool.loop, url: route.address)
        } catch {
            throw HTTPClientError(.invalidURL, "\(origin): \(error)")
        }
        if let security = route.security {
            tcp.security = security
        } else if route.tunnel != nil {
            let tunnel = TunnelSecurity()
            tcp.security = tunnel
            tunnelling = tunnel
        }
        tcp.connectTimeout = configuration.connectTimeout
        tcp.onConnect = { [weak self] _ in self?.connected() }
        tcp.onMessage = { [weak self] _, bytes in self?.received(bytes) }
        tcp.onError = { [weak self] _, error in self?.lastError = error }
        tcp.onClose = { [weak self] _ in self?.closed() }
        tcp.onBufferDrain = { [weak self] _ in self?.pump?.drained() }
        tcp.connect()
    }

    /// Starts `exchange` (the connection is idle, or still connecting).
    func start(_ exchange: HTTPExchange) {
        self.exchange = exchange
        exchange.connection = self
        head = nil
        body = ByteBuffer()
        receivedAny = false
        awaitingDemand = false
        streamingBody = false
        // A streamed body is bounded by its consumer, not by the buffered-response limit.
        parser.limits.maxBodySize = exchange.sink == nil ? configuration.limits.maxBodySize : .max
        if tunnelling == nil { parser.expectResponse(toHEAD: exchange.request.method == "HEAD") }
        if isConnected && tunnelling == nil { send(exchange) }
    }

    /// Writes the request, then its streamed body as the producer makes it.
    private func send(_ exchange: HTTPExchange) {
        _ = tcp.sendRaw(exchange.bytes)
        guard case .stream(let length, let producer)? = exchange.request.body else { return pump = nil }
        let pump = HTTPBodyPump(producer: producer, length: length, connection: tcp, origin: origin) { [weak self, weak exchange] error in
            guard let self, let exchange, self.exchange === exchange else { return }
            self.fail(exchange, error)
        }
        self.pump = pump
        pump.ask()
    }

    func close() {
        guard !isClosed else { return }
        tcp.destroy()
    }

    private func connected() {
        isConnected = true
        didConnect = true
        if let tunnel = route.tunnel, tunnelling != nil {
            // The proxy's answer to CONNECT has no body, as a HEAD's would not.
            parser.expectResponse(toHEAD: true)
            var line = "CONNECT \(tunnel.authority) HTTP/1.1\r\nHost: \(tunnel.authority)\r\n"
            if let authorization = route.proxyAuthorization { line += "Proxy-Authorization: \(authorization)\r\n" }
            _ = tcp.sendRaw(line + "\r\n")
            return
        }
        if let exchange, !exchange.isDone { send(exchange) }
    }

    private func received(_ bytes: ByteBuffer) {
        guard let exchange else {
            // Bytes nobody asked for on an idle connection: it is out of step; drop it.
            close()
            return
        }
        if tunnelling != nil { return tunnelAnswered(bytes, exchange) }
        receivedAny = true
        parser.feed(bytes)
        deliver(exchange)
    }

    /// Takes the parser's events until the response ends, more bytes are needed, or a streamed
    /// exchange's consumer has not asked for more.
    private func deliver(_ exchange: HTTPExchange) {
        delivering = true
        defer { delivering = false }
        do {
            while !awaitingDemand, self.exchange === exchange, let event = try parser.next() {
                switch event {
                case .head(let head):
                    self.head = head
                    if let sink = exchange.sink, exchange.willRedirect?(head) != true, !(100..<200).contains(head.status) {
                        streamingBody = true
                        parser.limits.maxBodySize = .max
                        sink.onHead(HTTPClientResponse(head: head, body: ByteBuffer(), url: exchange.request.url))
                    } else {
                        // Buffered after all (a redirect that is followed, a 1xx): the buffered limit again.
                        parser.limits.maxBodySize = configuration.limits.maxBodySize
                    }
                case .body(let piece):
                    guard streamingBody, let sink = exchange.sink else {
                        body.append(piece)
                        continue
                    }
                    awaitingDemand = true
                    sink.onBody(piece) { [weak self, weak exchange] in
                        guard let self, let exchange else { return }
                        self.more(exchange)
                    }
                    if awaitingDemand && self.exchange === exchange { tcp.pauseReceiving() }
                case .end(let reusable):
                    // Bytes past the response (a body longer than its Content-Length): the stream is
                    // out of step, so this connection carries nothing more.
                    finish(exchange, reusable: reusable && parser.bufferedBytes == 0)
                    return
                }
            }
        } catch {
            fail(exchange, HTTPClientError(error.code, "\(origin): \(error.detail)"))
        }
    }

    /// The consumer of a streamed body asked for the next piece.
    private func more(_ exchange: HTTPExchange) {
        guard self.exchange === exchange, awaitingDemand else { return }
        awaitingDemand = false
        if delivering { return }  // asked from inside onBody: the loop in `deliver` goes on
        tcp.resumeReceiving()
        deliver(exchange)
    }

    /// The proxy's answer to CONNECT: 2xx turns the socket into TLS with the origin and the request
    /// follows; anything else ends the exchange with the proxy's status.
    private func tunnelAnswered(_ bytes: ByteBuffer, _ exchange: HTTPExchange) {
        guard let tunnel = route.tunnel, let stream = tunnelling?.stream else { return }
        parser.feed(bytes)
        do {
            while let event = try parser.next() {
                switch event {
                case .head(let head): self.head = head
                case .body: continue
                case .end:
                    guard let head, (200..<300).contains(head.status) else {
                        let status = head.map { "\($0.status) \($0.reason)" } ?? "no answer"
                        let hint = head?.status == 407 ? (route.proxyAuthorization == nil ? " (credentials needed)" : " (credentials refused)") : ""
                        return fail(exchange, HTTPClientError(.proxyFailed, "\(origin): the proxy refused the tunnel: \(status)\(hint)"))
                    }
                    guard parser.bufferedBytes == 0 else {
                        return fail(exchange, HTTPClientError(.proxyFailed, "\(origin): the proxy sent bytes after its answer to CONNECT"))
                    }
                    tunnelling = nil
                    self.head = nil
                    do {
                        try stream.startTLS(tunnel.tls, serverName: tunnel.serverName)
                    } catch {
                        return fail(exchange, HTTPClientError(.tlsFailed, "\(origin): \(error)"))
                    }
                    parser.expectResponse(toHEAD: exchange.request.method == "HEAD")
                    send(exchange)
                    return
                }
            }
        } catch {
            fail(exchange, HTTPClientError(.proxyFailed, "\(origin): the proxy's answer to CONNECT: \(error.detail)"))
        }
    }

    private func finish(_ exchange: HTTPExchange, reusable: Bool) {
        guard let head else { return fail(exchange, HTTPClientError(.invalidResponse, "\(origin): a response end without a head")) }
        if route.absoluteForm && head.status == 407 {
            // Only a proxy answers 407: the request never reached the origin.
            let hint = route.proxyAuthorization == nil ? "credentials needed" : "credentials refused"
            return fail(exchange, HTTPClientError(.proxyFailed, "\(origin): the proxy refused the request: 407 \(head.reason) (\(hint))"))
        }
        var response = HTTPClientResponse(head: head, body: body, url: exchange.request.url)
        if configuration.decompress, !streamingBody, let coding = head.header("content-encoding"), exchange.request.method != "HEAD" {
            do {
                response.body = try ContentDecoder.decode(body, encoding: coding, limit: configuration.limits.maxBodySize)
            } catch {
                fail(exchange, HTTPClientError(error.code, "\(origin): \(error.detail)"))
                return
            }
        }
        self.exchange = nil
        self.head = nil
        body = ByteBuffer()
        completedCount += 1
        // Answered before its streamed body was all sent: the rest would be read as the next request.
        let bodySent = pump?.isEnded ?? true
        pump = nil
        exchange.connection = nil
        if reusable && bodySent && !isClosed, let pool { pool.release(self) } else { close() }
        exchange.complete(.success(response), on: loop)
    }

    private func fail(_ exchange: HTTPExchange, _ error: HTTPClientError) {
        self.exchange = nil
        pump = nil
        exchange.connection = nil
        close()
        exchange.complete(.failure(error), on: loop)
    }

    private func closed() {
        isClosed = true
        isConnected = false
        if let idleTimer { loop.cancelTimer(idleTimer) }
        idleTimer = nil
        let exchange = self.exchange
        self.exchange = nil
        pool?.connectionClosed(self)
        guard let exchange, !exchange.isDone else { return }
        exchange.connection = nil
        if tunnelling != nil {
            let cause = lastError.map { " (\($0))" } ?? ""
            let what = didConnect ? "the proxy closed the connection before answering CONNECT" : "the proxy could not be reached"
            return exchange.complete(.failure(HTTPClientError(didConnect ? .proxyFailed : .connectFailed, "\(origin): \(what)\(cause)")), on: loop)
        }
        if streamingBody && awaitingDemand {
            // Closed while its consumer held the body: what was still unread is lost, so it is no success.
            return exchange.complete(.failure(HTTPClientError(.connectionClosed, "\(origin): closed while the streamed body was paused")), on: loop)
        }
        do {
            if let event = try parser.finish(), case .end = event, let head {
                var response = HTTPClientResponse(head: head, body: body, url: exchange.request.url)
                if configuration.decompress, !streamingBody, let coding = head.header("content-encoding") {
                    response.body = try ContentDecoder.decode(body, encoding: coding, limit: configuration.limits.maxBodySize)
                }
                return exchange.complete(.success(response), on: loop)
            }
        } catch {
            // A kept-alive connection the server had already closed: ask again once, on a new one.
            if completedCount > 0, !receivedAny, !exchange.retried, exchange.request.body?.isStream != true, ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(exchange.request.method) {
                exchange.retried = true
                if let pool { return pool.execute(exchange) }
            }
            let cause = lastError.map { " (\($0))" } ?? ""
            // A TLS stream that failed says why (OpenSSL's reason: an untrusted certificate, a wrong name).
            let secured = route.security != nil || route.tunnel != nil
            let code: HTTPClientError.Code =
                secured && lastError?.code == .protocolError ? .tlsFailed : completedCount == 0 && !didConnect ? .connectFailed : error.code
            return exchange.complete(.failure(HTTPClientError(code, "\(origin): \(error.detail)\(cause)")), on: loop)
        }
        exchange.complete(.failure(HTTPClientError(.connectionClosed, "\(origin): closed before the response ended")), on: loop)
    }

}
