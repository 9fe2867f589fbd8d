import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A client stream connection (Workerman's `AsyncTcpConnection`): `tcp://host:port`, `unix:///path`, or
/// a codec scheme such as `text://` or `ws://`. Connecting never blocks the loop; names are resolved off
/// the loop thread.
///
/// ```swift
/// let client = try TCPClient<TextCodec>(loop: loop, url: "text://127.0.0.1:5678")
/// client.onConnect = { client in client.send("hello") }
/// client.onMessage = { client, line in print(line) }
/// client.onClose = { client in client.reconnect(after: 1) }
/// client.connect()
/// ```
///
/// The same class as a connection a server accepts, in the client role (see `ConnectionRole`): a name
/// kept for Workerman users and for the code written when the client was a subclass, which still
/// compiles as it was. The client members below do nothing on a connection a server accepted.
public typealias TCPClient<C: Codec> = TCPConnection<C>

extension TCPConnection {
    /// Prepares a client; nothing happens until `connect()`.
    ///
    /// - Throws: `TransportError` `.invalidAddress` when `url` does not parse.
    public convenience init(loop: EventLoop, url: String, codec: C = C()) throws(TransportError) {
        let endpoint = try Endpoint(url)
        guard endpoint.transport != .udp else {
            throw TransportError(.invalidAddress, "connect \(url)", detail: "use UDPClient for udp://")
        }
        self.init(
            context: TransportContext.of(loop),
            stream: SocketStream(descriptor: -1),
            state: .initial,
            transport: endpoint.transport,
            remoteAddress: nil,
            codec: codec,
            role: .client(ClientState(endpoint: endpoint))
        )
        owner = self
    }

    /// The address a client connects to. A connection a server accepted answers with its peer's address
    /// (`tcp://203.0.113.5:51234`).
    public var endpoint: Endpoint { role.client?.endpoint ?? Endpoint(peerOf: self) }

    /// Give up connecting after this many seconds (nil: wait for the kernel's own timeout). Clients only.
    public var connectTimeout: Double? {
        get { role.client?.connectTimeout }
        set { role.client?.connectTimeout = newValue }
    }

    /// Secures a client connection (TLS from `WorkermanTLS`: `ssl://`, `wss://` and `https://` need it).
    /// A server secures what it accepts with its own `security`.
    public var security: (any StreamSecurity)? {
        get { role.client?.security }
        set { role.client?.security = newValue }
    }

    /// The task awaiting `connect() async`, resumed when this attempt succeeds or fails.
    var connectWaiter: LoopCompletion<Void>? {
        get { role.client?.connectWaiter }
        set { role.client?.connectWaiter = newValue }
    }

    /// Starts connecting (from `initial`, `closing` or `closed`; otherwise does nothing). Failures reach
    /// `onError` with `.connectFailed`, then `onClose`.
    public func connect() {
        guard let client = role.client else { return }
        guard status == .initial || status == .closed || status == .closing else { return }
        if status == .closing { destroy() }
        cancelReconnect()
        if let template = client.codecTemplate { codec = template } else { client.codecTemplate = codec }
        _ = lifecycle.handle(.connect)
        client.connectStarted = loop.clock.nanoseconds()
        context.retainClient(self)
        armTimeout(client)
        if client.security == nil && SecureSchemes.contains(client.endpoint.scheme) {
            let scheme = client.endpoint.scheme
            fail(TransportError(.connectFailed, "connect \(client.endpoint)", detail: "\(scheme):// needs TLS: set the client's security (WorkermanTLS)"))
            return
        }
        do {
            if let address = try client.endpoint.numericAddress() {
                open(address, client)
                return
            }
        } catch {
            fail(error)
            return
        }
        Resolver.resolve(host: client.endpoint.host, port: client.endpoint.port, on: loop) { [weak self] result in
            guard let self, self.status == .connecting, self.fd < 0 else { return }
            switch result {
            case .success(let address): self.open(address, client)
            case .failure(let error): self.fail(error)
            }
        }
    }

    /// Connects again after `seconds` (0: now). Typically called from `onClose`. Clients only.
    public func reconnect(after seconds: Double = 0) {
        guard let client = role.client else { return }
        if status != .closed && status != .initial { destroy() }
        cancelReconnect()
        _ = lifecycle.handle(.reset)
        knownLength = 0
        guard seconds > 0 else {
            connect()
            return
        }
        client.reconnectTimer = try? loop.addTimer(after: seconds) { [weak self] in
            self?.role.client?.reconnectTimer = nil
            self?.connect()
        }
    }

    /// Whether a reconnect is scheduled.
    public var isReconnectPending: Bool { role.client?.reconnectTimer != nil }

    /// Cancels a reconnect scheduled with `reconnect(after:)`.
    public func cancelReconnect() {
        guard let client = role.client else { return }
        if let timer = client.reconnectTimer { loop.cancelTimer(timer) }
        client.reconnectTimer = nil
    }

    /// A client's `close()`: closes (after flushing), and cancels a pending reconnect (unlike Workerman,
    /// issue #253).
    func closeClient() {
        cancelReconnect()
        closeAfterFlushing()
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

    private func open(_ address: SocketAddress, _ client: ClientState<C>) {
        client.pendingAddress = address
        let operation = "connect \(client.endpoint)"
        do {
            let socket = SocketStream(descriptor: try SocketCalls.socket(domain: address.family, type: CInt(SOCK_STREAM.rawValue)))
            do {
                use(try client.security.map { (security) throws(TransportError) in try security.connectedStream(over: socket, host: client.endpoint.host) } ?? socket)
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

    /// The socket became writable while connecting: connected, or failed.
    func finishClientConnect(_ client: ClientState<C>) {
        guard status == .connecting, fd >= 0 else { return }
        let code = (try? SocketCalls.option(fd, SOL_SOCKET, SO_ERROR)) ?? 0
        guard code == 0, let peer = SocketCalls.remoteAddress(fd) else {
            let elapsed = Double(loop.clock.nanoseconds() - client.connectStarted) / 1e9
            fail(
                TransportError(
                    .connectFailed,
                    "connect \(client.endpoint)",
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
        if client.endpoint.transport == .tcp {
            // As Workerman does for client sockets; failure only loses an optimisation.
            try? SocketCalls.setOption(fd, CInt(IPPROTO_TCP), TCP_NODELAY, 1)
            try? SocketCalls.setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        }
        remoteAddress = client.endpoint.transport == .unix ? client.pendingAddress : peer
        _ = lifecycle.handle(.connected)
        client.connectWaiter?.succeed(())  // the awaiting task resumes after this tick's callbacks
        client.connectWaiter = nil
        var codecContext = makeCodecContext()
        codecContext.endpoint = client.endpoint
        codec.connectionEstablished(&codecContext)
        // The codec's greeting (a WebSocket upgrade request) goes ahead of anything queued while connecting.
        if !codecContext.replies.isEmpty { sendQueue.prepend(codecContext.takeReplies()) }
        updateInterest()
        if handshaking {
            awaitsHandshake = true
        } else {
            fireConnect()
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

    private func armTimeout(_ client: ClientState<C>) {
        cancelTimeout()
        guard let connectTimeout = client.connectTimeout, connectTimeout > 0 else { return }
        client.timeoutTimer = try? loop.addTimer(after: connectTimeout) { [weak self] in
            guard let self, self.status == .connecting || self.awaitsHandshake else { return }
            client.timeoutTimer = nil
            self.fail(TransportError(.connectFailed, "connect \(client.endpoint)", cause: .timedOut, detail: "no answer within \(connectTimeout) s"))
        }
    }

    /// Stops the connect timer of a client (nothing for an accepted connection).
    func cancelTimeout() {
        guard let client = role.client else { return }
        if let timer = client.timeoutTimer { loop.cancelTimer(timer) }
        client.timeoutTimer = nil
    }

    private func fireConnect() {
        guard let onConnect = handlers.onConnect else { return }
        invokeUserCallback(.onConnect) { try onConnect(self) }
    }

    // MARK: - As its own owner

    /// The TLS handshake finished: the client is connected now.
    package func connectionFinishedHandshake(_ connection: Connection) {
        cancelTimeout()
        fireConnect()
    }

    /// Closed for good (no reconnect from `onClose`): let go of it. A scheduled reconnect keeps it.
    package func connectionClosed(_ connection: Connection) {
        if !isReconnectPending { context.releaseClient(self) }
    }
}
