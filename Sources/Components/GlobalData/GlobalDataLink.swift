import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

/// One async client connection to one GlobalData server: requests go out in order on one `frame://`
/// connection and replies come back in the same order (the server answers each before reading the
/// next), so a FIFO of waiters matches them up. Connects on first use, again after a loss.
final class GlobalDataLink {
    typealias Completion = (Result<PHPValue, GlobalDataError>) -> Void

    private struct Waiter {
        let deadline: UInt64
        let complete: Completion
    }

    let loop: EventLoop
    /// The address as configured, for errors.
    let server: String
    private let url: String
    var timeout: Double
    var pingInterval: Double?
    var log: ComponentLogger

    private var connection: TCPClient<FrameCodec>?
    private var established = false
    private var waiters = FIFO<Waiter>()
    /// Requests made while connecting, sent once connected.
    private var unsent: [ByteBuffer] = []
    /// Why the connection is going away, for the waiters it fails.
    private var failure: GlobalDataError?
    private var deadlineTimer: TimerID?
    private var pingTimer: TimerID?
    private var isClosed = false

    init(loop: EventLoop, server: String, timeout: Double, pingInterval: Double?, log: @escaping ComponentLogger)
        throws(GlobalDataError)
    {
        self.loop = loop
        self.server = server
        self.timeout = timeout
        self.pingInterval = pingInterval
        self.log = log
        url = server.hasPrefix("unix://") ? server : "frame://" + server
        do {
            _ = try Endpoint(url)
        } catch {
            throw GlobalDataError(.invalidAddress, server: server, "\(error)")
        }
    }

    /// Sends one request body; `complete` runs on the loop with the parsed reply or the failure.
    func request(_ body: ByteBuffer, _ complete: @escaping Completion) {
        guard !isClosed else {
            let server = self.server
            // Never call back from inside the call: the caller may not expect re-entry.
            loop.nextTick { complete(.failure(GlobalDataError(.closed, server: server, "the client was closed"))) }
            return
        }
        waiters.push(Waiter(deadline: loop.clock.nanoseconds() + UInt64(max(0.001, timeout) * 1e9), complete: complete))
        if established, let connection {
            connection.send(body)
        } else {
            unsent.append(body)
            openIfNeeded()
        }
        armDeadline()
    }

    /// Closes the connection; waiting requests fail with `.closed`.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        failure = GlobalDataError(.closed, server: server, "the client was closed")
        if let connection {
            connection.destroy()
        } else {
            failAll()
        }
    }

    // MARK: - Connection

    private func openIfNeeded() {
        guard connection == nil else { return }
        let connection: TCPClient<FrameCodec>
        do {
            connection = try TCPClient<FrameCodec>(loop: loop, url: url)
        } catch {
            failure = GlobalDataError(.invalidAddress, server: server, "\(error)")
            failAll()
            return
        }
        connection.connectTimeout = timeout
        connection.onConnect = { [weak self] connection in self?.connected(connection) }
        connection.onMessage = { [weak self] _, body in self?.received(body) }
        connection.onError = { [weak self] _, error in self?.noteError(error) }
        connection.onClose = { [weak self] _ in self?.closed() }
        self.connection = connection
        failure = nil
        connection.connect()
    }

    private func connected(_ connection: TCPClient<FrameCodec>) {
        established = true
        for body in unsent { connection.send(body) }
        unsent.removeAll()
        if let pingInterval, pingInterval > 0, pingTimer == nil {
            // Keeps NAT and firewall mappings of an idle connection alive, as the PHP client does.
            pingTimer = try? loop.addTimer(every: pingInterval) { [weak self] in
                self?.connection?.send(GlobalDataCommand.ping)
            }
        }
    }

    private func received(_ body: ByteBuffer) {
        guard let waiter = waiters.pop() else {
            log("GlobalData client: unexpected reply from \(server) with no request waiting; reconnecting")
            failure = GlobalDataError(.badReply, server: server, "a reply nobody asked for")
            connection?.destroy()
            return
        }
        let result: Result<PHPValue, GlobalDataError>
        do {
            result = .success(try GlobalDataReply.parse(body, server: server))
        } catch {
            result = .failure(error)
        }
        waiter.complete(result)
    }

    private func noteError(_ error: TransportError) {
        guard failure == nil else { return }
        if !established && error.code == .connectFailed {
            failure = GlobalDataError(.unreachable, server: server, error.description)
        } else {
            failure = GlobalDataError(.connectionLost, server: server, error.description)
        }
    }

    private func closed() {
        if failure == nil {
            failure = GlobalDataError(
                established ? .connectionLost : .unreachable,
                server: server,
                established ? "the server closed the connection" : "could not connect"
            )
        }
        established = false
        connection = nil
        if let pingTimer { loop.cancelTimer(pingTimer) }
        pingTimer = nil
        failAll()
    }

    /// Fails every waiting request with `failure` (the next request connects again).
    private func failAll() {
        let error = failure ?? GlobalDataError(.connectionLost, server: server, "connection lost")
        unsent.removeAll()
        if let deadlineTimer { loop.cancelTimer(deadlineTimer) }
        deadlineTimer = nil
        for waiter in waiters.removeAll() { waiter.complete(.failure(error)) }
    }

    // MARK: - Timeout

    /// One timer for the oldest waiter's deadline, moved forward as replies arrive: no timer per request.
    private func armDeadline() {
        guard deadlineTimer == nil, let head = waiters.first else { return }
        let now = loop.clock.nanoseconds()
        let delay = head.deadline > now ? Double(head.deadline - now) / 1e9 : 0
        deadlineTimer = try? loop.addTimer(after: delay) { [weak self] in
            guard let self else { return }
            self.deadlineTimer = nil
            guard let head = self.waiters.first else { return }
            if head.deadline <= loop.clock.nanoseconds() {
                // Replies are matched by order, so a late reply would answer the wrong request: drop the
                // connection and fail everything that waits on it.
                self.failure = GlobalDataError(.timedOut, server: self.server, "no reply within \(self.timeout) s")
                if let connection = self.connection { connection.destroy() } else { self.failAll() }
            } else {
                self.armDeadline()
            }
        }
    }
}
