import WorkermanEventLoop
import WorkermanTransport

/// What every kind of worker shares: the listen address, the process settings and the process plan.
/// Use `Worker<C>` (streams) or `UDPWorker<C>`; this base is what the supervisor sees.
public class WorkerBase {
    /// The listen address as given, e.g. `websocket://0.0.0.0:2346`; nil for a worker with no listener
    /// (timers only).
    public let address: String?
    /// `address` parsed; nil with no listener.
    public let endpoint: Endpoint?
    /// How many processes run this worker (at least 1).
    public var count = 1 {
        didSet { if count < 1 { count = 1 } }
    }
    /// Shown in `status`, process titles and logs.
    public var name = "none"
    /// This process's index within the worker, 0 ..< count, stable across restarts. Set in the child.
    public internal(set) var id = 0
    /// Each process binds its own `SO_REUSEPORT` socket instead of sharing the master's.
    public var reusePort = false
    /// Run the children as this user and group (the master keeps its own, to bind low ports and signal).
    public var user: String?
    public var group: String?
    /// False: a reload only runs `onWorkerReload`; the processes are not replaced.
    public var reloadable = true
    /// Socket options for the listener.
    public var listenOptions = ListenOptions()
    /// The loop backend of the worker's processes.
    public var backend: BackendKind = .automatic
    /// Connection limits of each process of this worker (stream workers); see the properties below.
    public var limits = ConnectionLimits()
    /// Connections at once per process: at the limit the process stops accepting until one closes
    /// (new connections wait, or go to the worker's other processes); an HTTP worker with
    /// `answersOverLimit` answers them 503 instead. Nil: no limit. 0 or less fails `start`.
    public var maxConnections: Int? {
        get { limits.maxConnections }
        set { limits.maxConnections = newValue }
    }
    /// Connections at once from one IP, per process; one more is closed (or answered 503).
    public var maxConnectionsPerIP: Int? {
        get { limits.maxConnectionsPerIP }
        set { limits.maxConnectionsPerIP = newValue }
    }
    /// Seconds an idle connection (an HTTP keep-alive connection between requests) stays open.
    public var idleTimeout: Double? {
        get { limits.idleTimeout }
        set { limits.idleTimeout = newValue }
    }
    /// Replace a process of this worker after it handled about this many requests (plus up to 10 %
    /// jitter, so processes do not leave together): it drains like a reload and a new one takes its
    /// place. For slow leaks (Workerman's `max_request`). Nil: never. 0 or less fails `start`.
    public var maxRequests: Int?
    /// Replace a process whose resident memory passed this many bytes (checked every second).
    public var maxMemory: Int?
    /// Whether its processes are replaced past `maxRequests` or `maxMemory`.
    var recycles: Bool { maxRequests != nil || maxMemory != nil }
    /// HTTP workers: answer connections over a limit `503 Service Unavailable` (with `Retry-After`)
    /// instead of leaving them waiting in the backlog.
    public var answersOverLimit = false

    /// Position in the process plan; nil for a worker made inside a running child.
    private(set) var planIndex: Int?

    /// The loop this worker runs on, once it runs.
    public internal(set) var loop: EventLoop?

    /// `streamOnly`: refuse `udp://` (a `Worker`; datagrams need `UDPWorker`). Every check comes before
    /// the worker joins the plan, so a worker that failed to construct never runs.
    init(address: String?, transport: TransportKind? = nil, streamOnly: Bool = false) throws(TransportError) {
        self.address = address
        self.endpoint = try address.map { (text) throws(TransportError) in try Endpoint(text, transport: transport) }
        if streamOnly, let endpoint, endpoint.transport == .udp {
            throw TransportError(.invalidAddress, "worker \(address ?? "")", detail: "use UDPWorker for udp:// addresses")
        }
        self.planIndex = WorkerRegistry.shared.register(self)
    }

    /// The first setting of this worker that cannot be, as "name must be …"; nil when all are valid.
    var settingProblem: String? {
        if let problem = limits.problem { return problem }
        if let maxRequests, maxRequests < 1 { return "maxRequests must be at least 1 (got \(maxRequests))" }
        if let maxMemory, maxMemory < 1 { return "maxMemory must be at least 1 byte (got \(maxMemory))" }
        return nil
    }

    /// The name and address the supervisor matches a child against: `name listen`.
    var identity: String { "\(name) \(address ?? "none")" }

    /// The transport column of the status and start tables.
    var transportName: String { endpoint?.transport.rawValue ?? "none" }

    // MARK: - Overridden by the typed workers

    /// Starts listening on `loop`, adopting an inherited listener when given.
    func startServing(on loop: EventLoop, inherited: Listener?) throws {}
    /// Stops accepting; with `closeConnections`, closes every connection too.
    func stopServing(closeConnections: Bool) {}
    /// Checks what would fail every child's start (a TLS certificate), in the master before listening.
    func checkBeforeListening() throws {}
    /// Live connections of this worker in this process.
    var connectionCount: Int { 0 }
    /// Asks every connection to close once idle (graceful stop and reload).
    func drainConnections() {}
    /// Drains keep-alive connections (HTTP) the polite way: each answers its next request with
    /// `Connection: close`; those still idle after `idleGrace` seconds close (see Worker+Draining.swift).
    func drainKeepAliveConnections(idleGrace: Double) {}
    func runWorkerStart() throws {}
    func runWorkerStop() throws {}
    func runWorkerReload() throws {}

    // MARK: - Run-time listening (inside a child)

    /// Starts listening inside a running process (a second port opened from `onWorkerStart`). Several
    /// processes listening on one port need `reusePort`.
    public func listen() throws {
        guard let loop = loop ?? WorkerRegistry.shared.loop else {
            throw ProcessError(.listenFailed, "listen on \(address ?? "none")", detail: "no event loop runs yet: call listen() from onWorkerStart")
        }
        self.loop = loop
        try startServing(on: loop, inherited: nil)
    }

    /// Stops listening; existing connections stay (Workerman's `unlisten()`).
    public func unlisten() {
        stopServing(closeConnections: false)
    }
}

@available(*, unavailable, message: "workers are bound to their process's event loop")
extension WorkerBase: Sendable {}
