import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A client stream connection (Workerman's `TCPClient`): `tcp://host:port`, `unix:///path`, or a
/// codec scheme such as `text://` or `ws://`. Connecting never blocks the loop; names are resolved off
/// the loop thread.
///
/// ```swift
/// let client = try TCPClient<TextCodec>(loop: loop, url: "text://127.0.0.1:5678")
/// client.onConnect = { client in client.send("hello") }
/// client.onMessage = { client, line in print(line) }
/// client.onClose = { client in (client as? TCPClient<TextCodec>)?.reconnect(after: 1) }
/// client.connect()
/// ```
public final class TCPClient<C: Codec>: TCPConnection<C>, ConnectionOwner {
    public let endpoint: Endpoint
    /// Called each time the connection is established (again after every reconnect).
    public var onConnect: ((TCPClient<C>) throws -> Void)?
    /// Give up connecting after this many seconds (nil: wait for the kernel's own timeout).
    public var connectTimeout: Double? = 10
    /// Secures the connection (TLS from `WorkermanTLS`: `ssl://`, `wss://` and `https://` need it).
    public var security: (any StreamSecurity)?

    /// The task awaiting `connect() async`, resumed when this attempt succeeds or fails.
    var connectWaiter: LoopCompletion<Void>?
    private var reconnectTimer: TimerID?
    private var timeoutTimer: TimerID?
    private var connectStarted: UInt64 = 0
    private var pendingAddress: SocketAddress?
    /// The codec as configured when `connect()` was first called; each reconnect starts from a copy, so
    /// settings survive and per-connection state does not.
    private var codecTemplate: C?

    /// Prepares a client; nothing happens until `connect()`.
    ///
    /// - Throws: `TransportError` `.invalidAddress` when `url` does not parse.
    public init(loop: EventLoop, url: String, codec: C = C()) throws(TransportError) {
        endpoint = try Endpoint(url)
        guard endpoint.transport != .udp else {
            throw TransportError(.invalidAddress, "connect \(url)", detail: "use UDPClient for udp://")
        }
        super.init(
            context: TransportContext.of(loop),
            stream: SocketStream(descriptor: -1),
            state: .initial,
            transport: endpoint.transport,
            remoteAddress: nil,
            codec: codec
        )
        owner = self
    }

    override var isClient: Bool { true }

    /// Starts connecting (from `initial`, `closing` or `closed`; otherwise does nothing). Failures reach
    /// `onError` with `.connectFailed`, then `onClose`.
    public func connect() {
        guard status == .initial || status == .closed || status == .closing else { return }
        if status == .closing { destroy() }
        cancelReconnect()
        if let codecTemplate { codec = codecTemplate } else { codecTemplate = codec }
        _ = lifecycle.handle(.connect)
        connectStarted = loop.clock.nanoseconds()
        context.retainClient(self)
        armTimeout()
        if security == nil && SecureSchemes.contains(endpoint.scheme) {
            fail(TransportError(.connectFailed, "connect \(endpoint)", detail: "\(endpoint.scheme):// needs TLS: set the client's security (WorkermanTLS)"))
            return
        }
        do {
            if let address = try endpoint.numericAddress() {
                open(address)
                return
            }
        } catch {
            fail(error)
            return
        }
        Resolver.resolve(host: endpoint.host, port: endpoint.port, on: loop) { [weak self] result in
            guard let self, self.status == .connecting, self.fd < 0 else { return }
            switch result {
            case .success(let address): self.open(address)
            case .failure(let error): self.fail(error)
            }
        }
    }

    /// Connects again after `seconds` (0: now). Typically called from `onClose`.
    public func reconnect(after seconds: Double = 0) {
        if status != .closed && status != .initial { destroy() }
        cancelReconnect()
        _ = lifecycle.handle(.reset)
        knownLength = 0
        guard seconds > 0 else {
            connect()
            return
        }
        reconnectTimer = try? loop.addTimer(after: seconds) { [weak self] in
            self?.reconnectTimer = nil
            self?.connect()
        }
    }

    /// Whether a reconnect is scheduled.
    public var isReconnectPending: Bool { reconnectTimer != nil }

    /// Cancels a reconnect scheduled with `reconnect(after:)`.
    public func cancelReconnect() {
        if let reconnectTimer { loop.cancelTimer(reconnectTimer) }
        reconnectTimer = nil
    }

    /// Closes (after flushing), and cancels a pending reconnect (unlike Workerman, issue #253).
    public override func close() {
        cancelReconnect()
        super.close()
        if status == .initial {
            // onClose (fired by this close) asked to reconnect: an explicit close() wins. Without this, a
            // client whose onClose always reconnects could never be stopped.
            cancelReconnect()
            _ = lifecycle.handle(.destroy)
            sendQueue.removeAll()
            clearCallbacks()
            context.releaseClient(self)
        }
    }

    // MARK: - Connecting

    private func open(_ address: SocketAddress) {
        pendingAddress = address
        let operation = "connect \(endpoint)"
        do {
            let socket = SocketStream(descriptor: try SocketCalls.socket(domain: address.family, type: CInt(SOCK_STREAM.rawValue)))
            do {
                use(try security.map { (security) throws(TransportError) in try security.connectedStream(over: socket, host: endpoint.host) } ?? socket)
            } catch {
                var socket = socket
                socket.close()
                fail(error)
                return
            }
        } catch {
            fail(TransportError(.connectFailed, operation, cause: error))
            return
        }
        context.statistics.connections += 1
        do {
            let connected = try SocketCalls.connect(fd, address)
            try startWatching(for: .writable)
            if connected { finishConnecting() }
        } catch let error as Errno {
            fail(TransportError(.connectFailed, operation, cause: error))
        } catch let error as TransportError {
            fail(error)
        } catch {
            fail(TransportError(.connectFailed, operation, detail: "\(error)"))
        }
    }

    override func finishConnecting() {
        guard status == .connecting, fd >= 0 else { return }
        let code = (try? SocketCalls.option(fd, SOL_SOCKET, SO_ERROR)) ?? 0
        guard code == 0, let peer = SocketCalls.remoteAddress(fd) else {
            let elapsed = Double(loop.clock.nanoseconds() - connectStarted) / 1e9
            fail(
                TransportError(
                    .connectFailed,
                    "connect \(endpoint)",
                    cause: code == 0 ? nil : Errno(rawValue: code),
                    detail: code == 0 ? "failed after \((elapsed * 1000).rounded() / 1000) seconds" : nil
                )
            )
            return
        }
        // A TLS client is connected once its handshake is done: the connect timeout bounds that too, and
        // onConnect waits for it (see `connectionFinishedHandshake`).
        let handshaking = !(stream is SocketStream) && stream.isHandshaking
        if !handshaking { cancelTimeout() }
        if endpoint.transport == .tcp {
            // As Workerman does for client sockets; failure only loses an optimisation.
            try? SocketCalls.setOption(fd, CInt(IPPROTO_TCP), TCP_NODELAY, 1)
            try? SocketCalls.setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        }
        remoteAddress = endpoint.transport == .unix ? pendingAddress : peer
        _ = lifecycle.handle(.connected)
        connectWaiter?.succeed(())  // the awaiting task resumes after this tick's callbacks
        connectWaiter = nil
        var codecContext = makeCodecContext()
        codecContext.endpoint = endpoint
        codec.connectionEstablished(&codecContext)
        // The codec's greeting (a WebSocket upgrade request) goes ahead of anything queued while connecting.
        if !codecContext.replies.isEmpty { sendQueue.prepend(codecContext.takeReplies()) }
        updateInterest()
        if handshaking {
            awaitsHandshake = true
        } else if let onConnect {
            invokeUserCallback(.onConnect) { try onConnect(self) }
        }
        if status == .established, !sendQueue.isEmpty { flushSendQueue() }
    }

    private func fail(_ error: TransportError) {
        cancelTimeout()
        // Workerman reports CLOSING while onError runs, then CLOSED.
        let action = lifecycle.handle(.connectFailed)
        connectWaiter?.fail(error)
        connectWaiter = nil
        fireError(error)
        carryOut(action == .none ? .destroy : action)
    }

    private func armTimeout() {
        cancelTimeout()
        guard let connectTimeout, connectTimeout > 0 else { return }
        timeoutTimer = try? loop.addTimer(after: connectTimeout) { [weak self] in
            guard let self, self.status == .connecting || self.awaitsHandshake else { return }
            self.timeoutTimer = nil
            self.fail(TransportError(.connectFailed, "connect \(self.endpoint)", cause: .timedOut, detail: "no answer within \(connectTimeout) s"))
        }
    }

    private func cancelTimeout() {
        if let timeoutTimer { loop.cancelTimer(timeoutTimer) }
        timeoutTimer = nil
    }

    override func clearCallbacks() {
        super.clearCallbacks()
        onConnect = nil
    }

    override func fireClose() {
        cancelTimeout()
        super.fireClose()
    }

    /// The TLS handshake finished: the client is connected now.
    package func connectionFinishedHandshake(_ connection: Connection) {
        cancelTimeout()
        if let onConnect {
            invokeUserCallback(.onConnect) { try onConnect(self) }
        }
    }

    /// Closed for good (no reconnect from `onClose`): let go of it. A scheduled reconnect keeps it.
    package func connectionClosed(_ connection: Connection) {
        if !isReconnectPending { context.releaseClient(self) }
    }
}
