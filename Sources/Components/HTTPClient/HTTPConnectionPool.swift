import WorkermanEventLoop
import WorkermanTransport

/// The connections to one origin: idle ones are reused (most recent first, so the rest can time out),
/// new ones are opened up to `maxConnectionsPerOrigin`, and past that requests wait in a bounded queue.
final class HTTPConnectionPool {
    let loop: EventLoop
    let origin: String
    let url: HTTPURL
    let route: HTTPRoute
    let configuration: HTTPClientConfiguration
    private var idle: [HTTPClientConnection] = []
    private var all: [ObjectIdentifier: HTTPClientConnection] = [:]
    private var waiting: [HTTPExchange] = []
    private var waitingHead = 0
    /// Connections opened over the pool's life (for tests and statistics: reuse shows as few).
    private(set) var openedCount = 0

    init(loop: EventLoop, url: HTTPURL, route: HTTPRoute, configuration: HTTPClientConfiguration) {
        self.loop = loop
        self.url = url
        self.route = route
        origin = url.origin
        self.configuration = configuration
    }

    var connectionCount: Int { all.count }
    var waitingCount: Int { waiting.count - waitingHead }

    func execute(_ exchange: HTTPExchange) {
        guard !exchange.isDone else { return }
        while let connection = idle.popLast() {
            if let timer = connection.idleTimer { loop.cancelTimer(timer) }
            connection.idleTimer = nil
            guard !connection.isClosed else { continue }
            return connection.start(exchange)
        }
        if all.count < configuration.maxConnectionsPerOrigin {
            do {
                let connection = try HTTPClientConnection(pool: self)
                all[ObjectIdentifier(connection)] = connection
                openedCount += 1
                return connection.start(exchange)
            } catch {
                return exchange.complete(.failure(error), on: loop)
            }
        }
        guard waitingCount < configuration.maxQueuedRequests else {
            return exchange.complete(
                .failure(HTTPClientError(.queueFull, "\(origin): \(all.count) connections busy and \(waitingCount) requests waiting")), on: loop)
        }
        waiting.append(exchange)
    }

    /// A connection finished its exchange and may carry another.
    func release(_ connection: HTTPClientConnection) {
        while let next = nextWaiting() {
            if !next.isDone { return connection.start(next) }
        }
        idle.append(connection)
        connection.idleTimer = try? loop.addTimer(after: configuration.idleTimeout) { [weak connection] in
            connection?.idleTimer = nil
            connection?.close()
        }
    }

    func connectionClosed(_ connection: HTTPClientConnection) {
        all[ObjectIdentifier(connection)] = nil
        idle.removeAll { $0 === connection }
        // Room for another connection: a waiting request gets it.
        while waitingCount > 0, all.count < configuration.maxConnectionsPerOrigin, let next = nextWaiting() {
            if !next.isDone {
                execute(next)
                return
            }
        }
    }

    private func nextWaiting() -> HTTPExchange? {
        guard waitingHead < waiting.count else { return nil }
        let next = waiting[waitingHead]
        waitingHead += 1
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        return next
    }

    func closeAll() {
        for connection in Array(all.values) { connection.close() }
        let pending = waiting[waitingHead...]
        waiting.removeAll()
        waitingHead = 0
        for exchange in pending { exchange.complete(.failure(HTTPClientError(.cancelled, "\(origin): the client was closed")), on: loop) }
    }
}
