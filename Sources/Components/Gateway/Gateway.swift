import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A client's id, unique across processes and machines: `<node>-<connection id>`, where the node is
/// this process (a random tag and the pid). Any process can address the client by it.
public typealias GatewayClientID = String

/// Push to a connection, a user or a group from any worker process: GatewayWorker's API (`sendToClient`,
/// `sendToUid`, `sendToGroup`, `sendToAll`, `joinGroup`, `bindUid`, `isUidOnline`…) as a library call
/// in the worker that holds the sockets, over a `ChannelClient`: a Channel server on one machine, Redis
/// pub/sub across machines. Workerman needs separate Gateway, BusinessWorker and Register processes.
///
/// ```swift
/// ws.onWorkerStart = { worker in
///     gateway = Gateway(loop: worker.loop!, backend: .redis("10.0.0.5:6379", prefix: "app:"))
/// }
/// ws.onConnect = { connection in
///     let id = gateway.add(connection)          // "3f9a21c0.4242-7"
///     gateway.bind(id, user: "alice")
///     gateway.join(id, group: "room1")
/// }
/// ws.onClose = { connection in gateway.remove(connection: connection.id) }
/// // anywhere, in any process, on any machine sharing the backend:
/// gateway.send(toUser: "alice", "hello")
/// gateway.send(toGroup: "room1", "hi all", excluding: [id])
/// gateway.isOnline(user: "alice") { online in … }
/// ```
///
/// Delivery: each process subscribes to the events of the users and groups it has clients in, so a
/// push goes only to processes that have someone to give it to.
///
/// Presence (`isOnline`, `count`, `users`): on Redis, sets with expiry — each process keeps its clients
/// per user and per group in sets of its own that expire `3 × presenceInterval` seconds (6) after their
/// last renewal (every `presenceInterval`), and a query is the union of the live processes' sets
/// (`GatewayRedisPresence`), so a crashed process's clients vanish within that bound whoever asks, and a
/// process that starts later knows everyone at once. On a Channel server, a replica that every process
/// keeps of every other's clients from their published snapshots, with the same renewal and bound.
/// Another process's `bind`/`join` shows within `announceDelay` plus the backend's latency.
public final class Gateway {
    public struct Configuration: Sendable {
        /// How often each process renews its presence; a silent process is forgotten after 3 of these.
        public var presenceInterval = 2.0
        /// Changes within this many seconds are announced together (one snapshot, not one per change).
        public var announceDelay = 0.1
        public init() {}
    }

    struct Local {
        let send: (String) -> Void
        let close: () -> Void
        var user: String?
        var groups: Set<String> = []
    }

    public let loop: EventLoop
    public let channel: ChannelClient
    public let configuration: Configuration
    /// This process's part of every client id.
    public let node: String
    /// Messages handed to this process's clients.
    public internal(set) var delivered = 0
    /// Events that were not the gateway's (malformed, forged): ignored, counted.
    public internal(set) var ignored = 0
    /// Pushes and announcements lost while the Channel server or Redis was away: the channel holds
    /// them up to its `maxPendingMessages`, then drops each further one (logged, counted here).
    public internal(set) var dropped = 0

    var clients: [Int: Local] = [:]
    var users: [String: Set<Int>] = [:]
    var groups: [String: Set<Int>] = [:]
    var presence = GatewayPresence()
    /// The Redis sets presence lives in, when the backend is Redis.
    var redisPresence: GatewayRedisPresence?
    var announcing = false
    /// The last snapshot published was empty (see `publishPresence`).
    var announcedEmpty = false
    private var renewal: TimerID?

    /// A gateway over `channel` (shared with the worker's own events, or its own). Starts at once.
    public init(loop: EventLoop, channel: ChannelClient, configuration: Configuration = .init()) {
        self.loop = loop
        self.channel = channel
        self.configuration = configuration
        node = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16) + "." + String(getpid())
        if case .redis(let address, let prefix) = channel.configuration.backend {
            // A bad address already fails the channel, which logs it; presence then answers locally.
            redisPresence = try? GatewayRedisPresence(
                loop: loop, address: address, prefix: prefix, node: node, ttl: configuration.presenceInterval * 3
            )
        }
        start()
    }

    /// A gateway with its own Channel client on `backend`.
    public convenience init(loop: EventLoop, backend: ChannelBackendKind, configuration: Configuration = .init()) {
        self.init(loop: loop, channel: ChannelClient(loop: loop, configuration: .init(backend: backend)), configuration: configuration)
    }

    deinit { if let renewal { _ = loop.cancelTimer(renewal) } }

    private func start() {
        // A channel shared with other users keeps its own drop handler; ours counts and logs.
        if channel.onDrop == nil {
            channel.onDrop = { [weak self] drop in
                self?.dropped += 1
                self?.channel.log("gateway: \(drop) (the Channel server or Redis is away and the queue is full)")
            }
        }
        channel.on(GatewayWire.all) { [weak self] data in self?.deliver(data, to: self?.clients.keys.map { $0 } ?? []) }
        channel.on(GatewayWire.node(node)) { [weak self] data in self?.command(data) }
        channel.on(GatewayWire.presence) { [weak self] data in self?.heard(data) }
        channel.connect()
        announce()
        renewal = try? loop.addTimer(every: configuration.presenceInterval) { [weak self] in
            guard let self else { return }
            presence.expire(now: Self.now())
            publishPresence()
        }
    }

    /// Says goodbye (other processes forget this one's clients at once) and stops renewing.
    public func stop() {
        if let renewal { _ = loop.cancelTimer(renewal) }
        renewal = nil
        if let redisPresence {
            redisPresence.remove()
            return
        }
        channel.publish(GatewayWire.presence, GatewayWire.presence(node: node, ttl: 1, clients: [], bye: true))
    }

    // MARK: - This process's clients

    /// Registers a client of this process; `send` writes a text to it, `close` closes it.
    @discardableResult
    public func add(connection id: Int, send: @escaping (String) -> Void, close: @escaping () -> Void = {}) -> GatewayClientID {
        clients[id] = Local(send: send, close: close)
        announce()
        return clientID(of: id)
    }

    /// Registers a WebSocket connection: pushes go to it as text frames.
    @discardableResult
    public func add(_ connection: TCPConnection<WebSocketServerCodec>) -> GatewayClientID {
        // Weak: the gateway must not keep a closed connection alive; `remove` forgets it on close.
        add(connection: connection.id, send: { [weak connection] text in connection?.send(.text(text)) }, close: { [weak connection] in connection?.close() })
    }

    /// Forgets a client of this process (call it from `onClose`): unbound, out of its groups.
    public func remove(connection id: Int) {
        guard let local = clients[id] else { return }
        if let user = local.user { drop(id, from: &users, key: user, event: GatewayWire.user(user)) }
        for group in local.groups { drop(id, from: &groups, key: group, event: GatewayWire.group(group)) }
        clients[id] = nil
        announce()
    }

    public func clientID(of connection: Int) -> GatewayClientID { "\(node)-\(connection)" }

    // MARK: - Binding and groups (any client, in any process)

    /// Binds `client` to `user` (one user per client; a user may have many clients).
    public func bind(_ client: GatewayClientID, user: String) { route(client, "bind", ("u", user)) }
    public func unbind(_ client: GatewayClientID) { route(client, "unbind") }
    public func join(_ client: GatewayClientID, group: String) { route(client, "join", ("g", group)) }
    public func leave(_ client: GatewayClientID, group: String) { route(client, "leave", ("g", group)) }
    /// Closes `client`'s connection, wherever it is.
    public func close(_ client: GatewayClientID) { route(client, "close") }

    // MARK: - Push

    public func send(toClient client: GatewayClientID, _ text: String) { route(client, "send", ("m", text)) }

    /// To every client bound to `user`, in every process.
    public func send(toUser user: String, _ text: String, excluding: [GatewayClientID] = []) {
        channel.publish(GatewayWire.user(user), GatewayWire.message(text, excluding: excluding))
    }

    public func send(toGroup group: String, _ text: String, excluding: [GatewayClientID] = []) {
        channel.publish(GatewayWire.group(group), GatewayWire.message(text, excluding: excluding))
    }

    public func sendToAll(_ text: String, excluding: [GatewayClientID] = []) {
        channel.publish(GatewayWire.all, GatewayWire.message(text, excluding: excluding))
    }

    // MARK: - Presence (callback form; answered on a later tick of this loop)

    public func isOnline(user: String, _ callback: @escaping (Bool) -> Void) {
        if redisPresence != nil { return clients(ofUser: user) { callback(!$0.isEmpty) } }
        forgetSilent()
        answer(!(users[user]?.isEmpty ?? true) || presence.isOnline(user: user), callback)
    }

    /// The ids of `user`'s clients, in every process.
    public func clients(ofUser user: String, _ callback: @escaping ([GatewayClientID]) -> Void) {
        let here = (users[user] ?? []).map(clientID(of:))
        if let redisPresence {
            return redisPresence.clients(ofUser: user) { result in callback(Set(here + ((try? result.get()) ?? [])).sorted()) }
        }
        forgetSilent()
        answer((here + presence.clients(ofUser: user)).sorted(), callback)
    }

    /// How many clients are in `group`, in every process.
    public func count(group: String, _ callback: @escaping (Int) -> Void) {
        if let redisPresence {
            let here = (groups[group] ?? []).map(clientID(of:))
            return redisPresence.groupMembers(group) { result in
                callback(Set(here + ((try? result.get()) ?? []).map(\.client)).count)
            }
        }
        forgetSilent()
        answer((groups[group]?.count ?? 0) + presence.count(group: group), callback)
    }

    /// The distinct users of the clients in `group`, sorted.
    public func users(inGroup group: String, _ callback: @escaping ([String]) -> Void) {
        let here = (groups[group] ?? []).compactMap { clients[$0]?.user }
        if let redisPresence {
            return redisPresence.groupMembers(group) { result in
                callback(Set(here + ((try? result.get()) ?? []).compactMap(\.user)).sorted())
            }
        }
        forgetSilent()
        answer(Set(here + presence.users(inGroup: group)).sorted(), callback)
    }

    /// How many clients are connected, in every process.
    public func count(_ callback: @escaping (Int) -> Void) {
        if let redisPresence {
            let here = clients.keys.map(clientID(of:))
            return redisPresence.allClients { result in callback(Set(here + ((try? result.get()) ?? [])).count) }
        }
        forgetSilent()
        answer(clients.count + presence.count(), callback)
    }

    /// Drops the snapshots whose time ran out, so an answer never counts a process silent for longer
    /// than 3 renewals (the renewal timer's sweep alone could be one interval late).
    private func forgetSilent() { presence.expire(now: Self.now()) }

    func answer<T>(_ value: T, _ callback: @escaping (T) -> Void) {
        // A later tick, as a query to a remote store would answer: callers cannot come to rely on
        // the callback running inside the call.
        loop.nextTick { callback(value) }
    }
}
