import WorkermanEventLoop
import WorkermanTransport

/// A listen address + callbacks + a process count (Workerman's `Worker`), for stream transports (TCP,
/// unix), typed by its codec: `onMessage` gets what the codec decodes.
///
/// ```swift
/// let ws = Worker(websocket: "0.0.0.0:2346")
/// ws.count = 4
/// ws.onMessage = { connection, message in connection.send("hello \(message)") }
/// Worker.runAll()
/// ```
///
/// A user codec: `Worker<MyCodec>("myproto://0.0.0.0:1234")`.
public final class Worker<C: Codec>: WorkerBase, HasConnectionHandlers {
    public var onWorkerStart: ((Worker<C>) throws -> Void)?
    public var onWorkerReload: ((Worker<C>) throws -> Void)?
    public var onWorkerStop: ((Worker<C>) throws -> Void)?
    /// The connection callbacks (`onConnect`, `onMessage`, `onClose`, `onError`, `onBufferFull`,
    /// `onBufferDrain`, and `onCodecEvent`: for WebSocket, prefer `onWebSocketConnect` and friends). Set
    /// them one by one as `worker.onMessage = …`; the worker's server and its connections share them.
    public var handlers = ConnectionHandlers<C>() {
        // Set from onWorkerStart (as Workerman allows), after the server started: connections accepted from
        // now on get them too.
        didSet { server?.handlers = handlers }
    }

    /// Called with each accepted connection.
    public var onConnect: ((TCPConnection<C>) throws -> Void)? {
        get { handlers.onConnect }
        set { handlers.onConnect = newValue }
    }
    /// Storage for protocol-specific hooks (`onWebSocketConnect`, …) set through extensions.
    var protocolHooks: AnyObject?

    /// Applied to each new connection (Workerman's `defaultMaxSendBufferSize` / `defaultMaxPackageSize`).
    public var maxSendBufferSize = Connection.defaultMaxSendBufferSize
    public var maxPackageSize = Connection.defaultMaxPackageSize
    /// Makes each connection's codec, for codecs configured per worker.
    public var makeCodec: () -> C = { C() }
    /// Close a connection that holds part of a message this long without completing it (see
    /// `TCPServer.partialMessageTimeout`); HTTP workers default to 60 s for a request head (slowloris).
    public var partialMessageTimeout: Double?
    var isStalled: ((TCPConnection<C>) -> Bool)?
    /// Set for keep-alive protocols (HTTP): whether a connection is between exchanges, nothing owed to
    /// it. Such connections drain after their next answer instead of closing while idle.
    var isBetweenExchanges: ((TCPConnection<C>) -> Bool)?
    /// Set by protocols that can say "too busy" (HTTP's 503), for `answersOverLimit`.
    var overLimitAnswer: ((TCPConnection<C>) -> Void)?
    var onStalled: ((TCPConnection<C>) -> Void)?

    /// Secures every connection (TLS: `import WorkermanTLS`, then `Worker(http:tls:)` or Workerman's
    /// `transport = "ssl"` with `context`); nil: plain sockets.
    public var security: (any StreamSecurity)?
    /// Builds `security` as each process starts, so certificates are read again by every new child (a
    /// reload serves renewed ones). Set by Workerman's `transport = "ssl"` (WorkermanTLS).
    package var makeSecurity: (() throws -> any StreamSecurity)?
    /// Workerman's stream context, by wrapper: `context["ssl"]` holds `local_cert`, `local_pk`, ….
    public var context: [String: [String: Any]] = [:]

    /// The server once listening.
    public private(set) var server: TCPServer<C>?

    /// A worker listening on `address` (`scheme://host:port` or `unix:///path`); nil for no listener.
    ///
    /// - Throws: `TransportError` `.invalidAddress` when the address does not parse.
    public init(_ address: String?) throws(TransportError) {
        try super.init(address: address, streamOnly: true)
    }

    /// This process's live connections of this worker, by id (Workerman's `$worker->connections`).
    public var connections: [Int: TCPConnection<C>] { server?.connections ?? [:] }

    /// Connections that left this worker's codec (WebSockets upgraded from an HTTP route), by id: still
    /// this worker's to close on stop, drain on reload, list and count.
    public var handedOverConnections: [Int: Connection] { server?.handedOverConnections ?? [:] }

    override var connectionCount: Int {
        guard let server else { return 0 }
        return server.connections.count + server.handedOverConnections.count
    }

    override func startServing(on loop: EventLoop, inherited: Listener?) throws {
        self.loop = loop
        guard let endpoint, server == nil else { return }
        var options = listenOptions
        options.reusePort = reusePort
        if inherited != nil && count > 1 && options.acceptBatch == ListenOptions().acceptBatch {
            // Processes sharing one listener all wake for a burst of connections; the one that accepted
            // until EAGAIN took most of them (wrk's 100 split 68/32 between two), and that one saturated
            // while the other idled. One accept per wake-up, as Workerman does, splits a burst evenly.
            options.acceptBatch = 1
        }
        let server = TCPServer<C>(loop: loop, endpoint: endpoint, options: options)
        if let makeSecurity { security = try makeSecurity() }
        configure(server)
        try server.start(adopting: inherited)
        self.server = server
    }

    /// Serves on `loop` outside the process plan, with this worker's handlers and settings: for tests,
    /// and for a program that runs its own loop. `address` is a full URL (`frame://127.0.0.1:0`).
    package func serve(on loop: EventLoop, address: String) throws(TransportError) -> TCPServer<C> {
        let server = try TCPServer<C>(loop: loop, address: address)
        if let makeSecurity {
            do {
                security = try makeSecurity()
            } catch {
                throw error as? TransportError ?? TransportError(.listenFailed, "serve \(address)", detail: "\(error)")
            }
        }
        configure(server)
        try server.start()
        return server
    }

    /// Gives `server` this worker's callbacks and settings.
    private func configure(_ server: TCPServer<C>) {
        server.handlers = handlers
        server.maxSendBufferSize = maxSendBufferSize
        server.maxPackageSize = maxPackageSize
        server.makeCodec = makeCodec
        server.partialMessageTimeout = partialMessageTimeout
        server.isStalled = isStalled
        server.onStalled = onStalled
        server.limits = limits
        server.isIdle = isBetweenExchanges
        server.onOverLimit = answersOverLimit ? overLimitAnswer : nil
        server.security = security
    }

    /// `ssl` in the start and status tables for a TLS worker, as Workerman shows its `transport`.
    override var transportName: String { security != nil || makeSecurity != nil ? "ssl" : super.transportName }

    override func checkBeforeListening() throws {
        // A certificate that cannot be loaded fails the start here, in the master, before any port is
        // bound, rather than in every child after.
        if let makeSecurity { _ = try makeSecurity() }
    }

    override func stopServing(closeConnections: Bool) {
        guard let server else { return }
        if closeConnections {
            server.closeAll()
        } else {
            server.stop()
        }
    }

    override func drainConnections() {
        server?.stop()
        for connection in server?.connections.values ?? [:].values {
            connection.closeWhenIdle()
        }
        for connection in server?.handedOverConnections.values ?? [:].values {
            connection.closeWhenIdle()
        }
    }

    override func drainKeepAliveConnections(idleGrace: Double) { drainBetweenExchanges(idleGrace: idleGrace) }

    /// Stops accepting for a while (Workerman's `pauseAccept()`).
    public func pauseAccept() { server?.pauseAccept() }

    /// Accepts again (Workerman's `resumeAccept()`).
    public func resumeAccept() { server?.resumeAccept() }

    override func runWorkerStart() throws { try onWorkerStart?(self) }
    override func runWorkerStop() throws { try onWorkerStop?(self) }
    override func runWorkerReload() throws { try onWorkerReload?(self) }
}

extension Worker where C == RawCodec {
    /// A raw TCP worker: `onMessage` gets each read as it came.
    public convenience init(tcp address: String) throws(TransportError) { try self.init("tcp://" + address) }

    /// A raw unix-socket worker on `path`.
    public convenience init(unix path: String) throws(TransportError) { try self.init("unix://" + path) }

    /// A worker with no listener: timers and clients only (its processes still run `onWorkerStart`).
    public convenience init() { try! self.init(nil) }  // no address: nothing can fail to parse

    /// Workerman's spelling of `Workers.runAll()`: runs every worker made so far under one master.
    public static func runAll() { Workers.runAll() }

    /// Workerman's spelling of `Workers.runAll(arguments:)`.
    public static func runAll(arguments: [String]) { Workers.runAll(arguments: arguments) }
}
