import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Accepts stream connections (TCP or unix) on one listener and runs them with codec `C`. Every accepted
/// connection starts with the callbacks set here (as Workerman copies a Worker's), shared until one is
/// changed on the connection (`ConnectionHandlers`).
///
/// ```swift
/// let server = try TCPServer<TextCodec>(loop: loop, address: "text://127.0.0.1:0")
/// server.onMessage = { connection, line in connection.send(line.uppercased()) }
/// try server.start()
/// print(server.listener!.address.port)
/// ```
public final class TCPServer<C: Codec>: ConnectionOwner, HasConnectionHandlers {
    public let loop: EventLoop
    public let endpoint: Endpoint
    public var options: ListenOptions
    let context: TransportContext
    public private(set) var listener: Listener?

    /// The live connections of this server, by id (Workerman's `$worker->connections`).
    @exclusivity(unchecked) public private(set) var connections: [Int: TCPConnection<C>] = [:]
    /// Connections that took over the socket of one of this server's (a WebSocket upgraded from an HTTP
    /// route; see `TCPConnection.handOver`), by id. They speak another codec, so they are not in
    /// `connections`, but they are still this server's: closed by `closeAll`, drained on a reload, listed
    /// and counted with the rest.
    @exclusivity(unchecked) public private(set) var handedOverConnections: [Int: Connection] = [:]

    /// The callbacks every accepted connection starts with; set them one by one (`server.onMessage = …`)
    /// or all at once.
    @exclusivity(unchecked) public var handlers = ConnectionHandlers<C>()

    /// Called with each accepted connection.
    public var onConnect: ((TCPConnection<C>) throws -> Void)? {
        get { handlers.onConnect }
        set { handlers.onConnect = newValue }
    }
    /// Close a connection that has held part of a message this many seconds without completing it (a
    /// slowloris defence; nil: never). `isStalled` narrows what counts (an HTTP server counts only a
    /// request head, not a slow upload), and `onStalled` answers it (default: close).
    public var partialMessageTimeout: Double?
    public var isStalled: ((TCPConnection<C>) -> Bool)?
    public var onStalled: ((TCPConnection<C>) -> Void)?
    /// Connections holding part of a message; each says since when (`partialSince`, on the loop's clock).
    private var waitingPartial: Set<Int> = []
    private var stallTimer: TimerID?

    /// Connection limits in this process (see `ConnectionLimits`); none by default.
    public var limits = ConnectionLimits()
    /// Answers a connection over `limits.maxConnections` or `maxConnectionsPerIP` and closes it (an HTTP
    /// server's 503). Nil: at `maxConnections` accepting pauses, and one over the per-IP limit is closed.
    public var onOverLimit: ((TCPConnection<C>) -> Void)?
    /// Whether a connection is between messages, for `limits.idleTimeout` (default: nothing buffered).
    public var isIdle: ((TCPConnection<C>) -> Bool)?
    var limitState = LimitState()
    /// Secures every accepted connection (TLS from `WorkermanTLS`); nil: plain sockets.
    public var security: (any StreamSecurity)?
    /// Handshakes in progress (see `TCPServer+Security.swift`).
    var handshakes = HandshakeTracker()

    /// Makes each connection's codec (default `C()`), for codecs configured per server.
    public var makeCodec: () -> C = { C() }

    /// Applied to each new connection.
    @exclusivity(unchecked) public var maxSendBufferSize = Connection.defaultMaxSendBufferSize
    @exclusivity(unchecked) public var maxPackageSize = Connection.defaultMaxPackageSize

    @exclusivity(unchecked) public private(set) var isAccepting = false
    private var backoffTimer: TimerID?
    /// How long accepting pauses after EMFILE/ENFILE.
    public var acceptBackoff = 0.1

    public init(loop: EventLoop, endpoint: Endpoint, options: ListenOptions = ListenOptions()) {
        self.loop = loop
        self.endpoint = endpoint
        self.options = options
        self.context = TransportContext.of(loop)
    }

    public convenience init(loop: EventLoop, address: String, options: ListenOptions = ListenOptions()) throws(TransportError) {
        self.init(loop: loop, endpoint: try Endpoint(address), options: options)
    }

    /// Binds (or adopts `listener`) and starts accepting.
    public func start(adopting inherited: Listener? = nil) throws(TransportError) {
        guard self.listener == nil else { return }
        if security == nil && SecureSchemes.contains(endpoint.scheme) {
            throw TransportError(
                .listenFailed, "listen on \(endpoint)",
                detail: "\(endpoint.scheme):// needs a certificate: set the server's security (WorkermanTLS)"
            )
        }
        // Strong on purpose: a listening server lives until `stop()` unwatches it, even if the program
        // keeps no reference (as a Workerman worker does).
        let listener = try Listener.watched(
            adopting: inherited,
            endpoint: endpoint,
            options: options,
            on: loop,
            operation: "accept on \(endpoint)"
        ) { _ in self.acceptConnections() }
        self.listener = listener
        isAccepting = true
        context.registerSource(self) { [unowned self] in
            Array(self.connections.values) + Array(self.handedOverConnections.values)
        }
    }

    /// Stops accepting, keeping the listener (Workerman's `pauseAccept()`).
    public func pauseAccept() {
        guard let listener, isAccepting else { return }
        isAccepting = false
        try? loop.setInterest([], for: listener.fd)  // watched since start, so this cannot fail
    }

    /// Accepts again (Workerman's `resumeAccept()`).
    public func resumeAccept() {
        guard let listener, !isAccepting else { return }
        isAccepting = true
        try? loop.setInterest(.readable, for: listener.fd)
    }

    /// Stops accepting and closes the listener; open connections stay (Workerman's `unlisten()`).
    public func stop() {
        if let stallTimer, connections.isEmpty {
            loop.cancelTimer(stallTimer)
            self.stallTimer = nil
        }
        guard let listener else { return }
        if let backoffTimer { loop.cancelTimer(backoffTimer) }
        loop.unwatch(listener.fd)
        listener.close()
        self.listener = nil
        isAccepting = false
        // Its connections, if any, unregister it when the last closes; with none, nothing else would, and
        // the listing would reach for a server that may be gone.
        if hasNoConnections { context.unregisterSource(self) }
    }

    /// Stops accepting and closes every connection (after flushing what each has queued), each after its
    /// codec's goodbye if it has one (a WebSocket close frame, 1001 "going away").
    public func closeAll() {
        stop()
        // A codec with a goodbye says it first (WebSocket peers see 1001 "going away", not an abrupt 1006).
        for connection in connections.values { connection.closeSayingGoodbye() }
        for connection in handedOverConnections.values { connection.closeSayingGoodbye() }
        if hasNoConnections { context.unregisterSource(self) }
    }

    private var hasNoConnections: Bool { connections.isEmpty && handedOverConnections.isEmpty }

    // MARK: - Accepting

    private func acceptConnections() {
        guard let listener else { return }
        for attempt in 0..<max(1, options.acceptBatch) {
            // onConnect may have stopped or paused this server: the listener's descriptor may be closed
            // (and its number reused) by now.
            guard self.listener === listener, isAccepting else { return }
            if !limits.isEmpty && mustPauseAtLimit() { return }
            if security != nil && mustPauseAtHandshakeBound() { return }
            let result: IOResult<(CInt, SocketAddress?)>
            do {
                result = try SocketCalls.accept(listener.fd)
            } catch Errno.tooManyOpenFiles, Errno.systemFileTableFull {
                backOffAccepting()
                return
            } catch Errno.connectionAborted {
                continue  // the client gave up before we accepted: nothing to do
            } catch {
                loop.errorHandler(TransportError(.listenFailed, "accept on \(endpoint)", cause: error))
                return
            }
            guard case .processed(let (fd, remote)) = result else {
                // Readable but nothing to accept on the first try: another process won the race.
                if attempt == 0 { context.statistics.thunderHerd += 1 }
                return
            }
            adopt(fd: fd, remote: remote)
        }
    }

    /// Out of descriptors: accepting again at once would spin (the listener stays readable). Pause, say
    /// so, and try again shortly; existing connections are served meanwhile.
    private func backOffAccepting() {
        context.statistics.acceptFailures += 1
        loop.errorHandler(
            TransportError(
                .listenFailed,
                "accept on \(endpoint)",
                cause: .tooManyOpenFiles,
                detail: "out of file descriptors; pausing accept for \(acceptBackoff) s"
            )
        )
        pauseAccept()
        backoffTimer = try? loop.addTimer(after: acceptBackoff) { [weak self] in
            self?.backoffTimer = nil
            self?.resumeAccept()
        }
    }

    private func adopt(fd: CInt, remote: SocketAddress?) {
        if !limits.isEmpty, refusal(remote: remote) != nil {
            refuse(fd: fd, remote: remote) { makeConnection(fd: fd, remote: remote) }
            return
        }
        guard let connection = makeConnection(fd: fd, remote: remote) else { return }
        if !limits.isEmpty { admitted(connection) }
        if let onConnect = handlers.onConnect {
            connection.invokeUserCallback(.onConnect) { try onConnect(connection) }
        }
    }

    /// A started connection for an accepted descriptor, in `connections`; nil (the descriptor closed)
    /// if the loop refused it.
    private func makeConnection(fd: CInt, remote: SocketAddress?) -> TCPConnection<C>? {
        guard let stream = stream(for: fd) else { return nil }
        let connection = TCPConnection<C>(
            context: context,
            stream: stream,
            state: .established,
            transport: endpoint.transport,
            remoteAddress: remote,
            codec: makeCodec()
        )
        connection.maxSendBufferSize = maxSendBufferSize
        connection.maxPackageSize = maxPackageSize
        connection.handlers = handlers
        do {
            try connection.startAccepted(by: self)
        } catch {
            loop.errorHandler(error)
            connection.closeStream()  // never handed to anyone (a TLS stream frees its state too)
            return nil
        }
        connections[connection.id] = connection
        if security != nil { trackHandshake(of: connection) }
        return connection
    }

    package func connectionHasPartialMessage(_ connection: Connection) {
        guard let timeout = partialMessageTimeout, timeout > 0 else { return }
        waitingPartial.insert(connection.id)
        guard stallTimer == nil else { return }
        // Runs only while some connection waits: an idle server is never woken by it.
        stallTimer = try? loop.addTimer(every: max(0.05, min(1, timeout / 4))) { [weak self] in self?.sweepStalled(timeout) }
    }

    private func sweepStalled(_ timeout: Double) {
        let now = loop.clock.nanoseconds()
        let limit = UInt64(timeout * 1e9)
        for id in waitingPartial {
            // `partialSince` is 0 again once the message completed; a new partial one re-registers.
            guard let connection = connections[id], connection.partialSince != 0 else {
                waitingPartial.remove(id)
                continue
            }
            guard now &- connection.partialSince >= limit, isStalled?(connection) ?? true else { continue }
            waitingPartial.remove(id)
            if let onStalled { onStalled(connection) } else { connection.destroy() }
        }
        if waitingPartial.isEmpty, let stallTimer {
            loop.cancelTimer(stallTimer)
            self.stallTimer = nil
        }
    }

    package func connectionClosed(_ connection: Connection) {
        if connection.awaitsHandshake { connectionFinishedHandshake(connection) }
        if connections.removeValue(forKey: connection.id) == nil {
            handedOverConnections[connection.id] = nil
        }
        if !limits.isEmpty { limitsConnectionClosed(connection) }
        if listener == nil && hasNoConnections { context.unregisterSource(self) }
    }
}

extension TCPServer: HandoverOwner {
    package func adopt(_ successor: Connection, replacing predecessor: Connection) {
        connections[predecessor.id] = nil
        handedOverConnections[successor.id] = successor
    }
}

@available(*, unavailable)
extension TCPServer: Sendable {}
