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
    private var lastError: String?
    private var didConnect = false
    var idleTimer: TimerID?

    init(pool: HTTPConnectionPool, url: HTTPURL) throws(HTTPClientError) {
        self.pool = pool
        loop = pool.loop
        origin = pool.origin
        configuration = pool.configuration
        parser = HTTPResponseParser(limits: configuration.limits)
        let host = url.host.contains(":") ? "[\(url.host)]" : url.host
        do {
            tcp = try TCPClient<RawCodec>(loop: pool.loop, url: "tcp://\(host):\(url.port)")
        } catch {
            throw HTTPClientError(.invalidURL, "\(url.origin): \(error)")
        }
        tcp.connectTimeout = configuration.connectTimeout
        tcp.onConnect = { [weak self] _ in self?.connected() }
        tcp.onMessage = { [weak self] _, bytes in self?.received(bytes) }
        tcp.onError = { [weak self] _, error in self?.lastError = error.description }
        tcp.onClose = { [weak self] _ in self?.closed() }
        tcp.connect()
    }

    /// Starts `exchange` (the connection is idle, or still connecting).
    func start(_ exchange: HTTPExchange) {
        self.exchange = exchange
        exchange.connection = self
        head = nil
        body = ByteBuffer()
        receivedAny = false
        parser.expectResponse(toHEAD: exchange.request.method == "HEAD")
        if isConnected { _ = tcp.sendRaw(exchange.bytes) }
    }

    func close() {
        guard !isClosed else { return }
        tcp.destroy()
    }

    private func connected() {
        isConnected = true
        didConnect = true
        if let exchange, !exchange.isDone { _ = tcp.sendRaw(exchange.bytes) }
    }

    private func received(_ bytes: ByteBuffer) {
        guard let exchange else {
            // Bytes nobody asked for on an idle connection: it is out of step; drop it.
            close()
            return
        }
        receivedAny = true
        parser.feed(bytes)
        do {
            while let event = try parser.next() {
                switch event {
                case .head(let head): self.head = head
                case .body(let piece):
                    body.append(piece)
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

    private func finish(_ exchange: HTTPExchange, reusable: Bool) {
        guard let head else { return fail(exchange, HTTPClientError(.invalidResponse, "\(origin): a response end without a head")) }
        var response = HTTPClientResponse(head: head, body: body, url: exchange.request.url)
        if configuration.decompress, let coding = head.header("content-encoding"), exchange.request.method != "HEAD" {
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
        exchange.connection = nil
        if reusable && !isClosed, let pool { pool.release(self) } else { close() }
        exchange.complete(.success(response), on: loop)
    }

    private func fail(_ exchange: HTTPExchange, _ error: HTTPClientError) {
        self.exchange = nil
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
        do {
            if let event = try parser.finish(), case .end = event, let head {
                var response = HTTPClientResponse(head: head, body: body, url: exchange.request.url)
                if configuration.decompress, let coding = head.header("content-encoding") {
                    response.body = try ContentDecoder.decode(body, encoding: coding, limit: configuration.limits.maxBodySize)
                }
                return exchange.complete(.success(response), on: loop)
            }
        } catch {
            // A kept-alive connection the server had already closed: ask again once, on a new one.
            if completedCount > 0, !receivedAny, !exchange.retried, ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(exchange.request.method) {
                exchange.retried = true
                if let pool { return pool.execute(exchange) }
            }
            let cause = lastError.map { " (\($0))" } ?? ""
            let code: HTTPClientError.Code = completedCount == 0 && !didConnect ? .connectFailed : error.code
            return exchange.complete(.failure(HTTPClientError(code, "\(origin): \(error.detail)\(cause)")), on: loop)
        }
        exchange.complete(.failure(HTTPClientError(.connectionClosed, "\(origin): closed before the response ended")), on: loop)
    }

}
