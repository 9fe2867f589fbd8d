import WorkermanEventLoop
import WorkermanTransport

/// An asynchronous Redis client over one connection (RESP2, or RESP3 on request), on the loop: every command through
/// `send` (or the typed helpers: `get`, `hset`, `zadd`, …), replies matched in order, so commands issued
/// back to back are pipelined. `pipeline` and `transaction` send many at once; `subscribe`/`psubscribe`
/// make it a subscriber. With `reconnectDelay` set it reconnects by itself (with `AUTH`, `SELECT` and
/// its subscriptions again); commands in flight when a connection is lost fail with `.connection`.
///
/// Every completion runs once, on the loop, with a typed `RedisError`: an async form is a thin wrapper.
///
/// ```swift
/// let redis = try RedisClient(loop: loop, address: "127.0.0.1:6379")
/// redis.connect()
/// redis.send(["INCR", "visits"]) { reply in print(try reply.get()) }
/// redis.set("greeting", to: "hello") { _ in }
/// redis.get("greeting") { result in print(result) }   // .success("hello")
/// ```
public final class RedisClient: RedisCommandSender {
    public let loop: EventLoop
    public let address: String
    public var configuration: RedisConfiguration
    private let url: String

    /// Called each time a connection is ready (after `AUTH`/`SELECT`).
    public var onConnect: (() -> Void)?
    /// Called when a connection is gone (commands waiting have failed by then), with the reason.
    public var onClose: ((RedisError) -> Void)?
    /// Every message of a subscriber connection, raw: `["message", channel, payload]`,
    /// `["subscribe", channel, n]` … (the handlers given to `subscribe` get them decoded); on RESP3,
    /// every push frame, pub/sub or not (`CLIENT TRACKING`'s `["invalidate", [keys]]`).
    public var onPush: ((RESPValue) -> Void)?
    /// Called when the send buffer empties after having held data (for callers that pace themselves).
    public var onDrain: (() -> Void)?
    /// Seconds a connection attempt may take (`configuration.connectTimeout`).
    public var connectTimeout: Double {
        get { configuration.connectTimeout }
        set { configuration.connectTimeout = newValue }
    }

    private var connection: TCPClient<RESPCodec>?
    /// Connected, and `AUTH`/`HELLO`/`SELECT` (if any) answered.
    public private(set) var isConnected = false
    /// The protocol the current (or last) connection speaks: `.resp3` once the server accepted `HELLO 3`.
    public private(set) var protocolInUse = RedisProtocolVersion.resp2
    /// What the server said of itself in answer to `HELLO` (server, version, proto, id, mode, role…).
    public private(set) var serverInfo: [String: String] = [:]
    private var waiters = PendingReplies<ReplyWaiter>()
    /// Commands issued while connecting (or waiting to reconnect), sent once ready.
    private var unsent: [(command: RedisCommand, waiter: ReplyWaiter, expectsReply: Bool)] = []
    private var closeReason: RedisError?
    private var closedByUser = false
    private var reconnectTimer: TimerID?
    private var failedAttempts = 0
    private var handshakeReplies = 0
    var subscriptions = SubscriptionState()
    /// The `subscribe`/`psubscribe` sequences, finished by `close()`.
    var streams: [WeakStream] = []

    /// A client of the Redis server at `address` (`host:port` or `unix:///path`); call `connect()`.
    ///
    /// - Throws: `RedisError` `.invalidAddress`.
    public init(loop: EventLoop, address: String = "127.0.0.1:6379", configuration: RedisConfiguration = RedisConfiguration())
        throws(RedisError)
    {
        self.loop = loop
        self.address = address
        self.configuration = configuration
        url = address.hasPrefix("unix://") ? address : "tcp://" + address
        do {
            _ = try Endpoint(url)
        } catch {
            throw RedisError(.invalidAddress, "\(address): \(error)")
        }
    }

    /// Connected, and less than half of the send buffer's limit is queued.
    public var isWritable: Bool {
        guard isConnected, let connection else { return false }
        return connection.sendBufferQueueSize < connection.maxSendBufferSize / 2
    }

    /// Whether a connection is open or being opened (or a reconnect is due).
    public var isActive: Bool { connection != nil || reconnectTimer != nil }

    /// Commands sent and not answered yet, plus those waiting for a connection (a pool sends to the
    /// client with the fewest).
    public var pendingCount: Int { waiters.count + unsent.count }

    /// Opens the connection (does nothing while one is open or opening).
    public func connect() {
        guard connection == nil else { return }
        closedByUser = false
        if let reconnectTimer { loop.cancelTimer(reconnectTimer) }
        reconnectTimer = nil
        let connection: TCPClient<RESPCodec>
        do {
            connection = try TCPClient<RESPCodec>(loop: loop, url: url)
        } catch {
            closeReason = RedisError(.invalidAddress, "\(address): \(error)")
            loop.nextTick { [weak self] in self?.closed() }
            return
        }
        connection.connectTimeout = configuration.connectTimeout
        connection.maxPackageSize = configuration.maxReplySize
        connection.maxSendBufferSize = configuration.maxSendBufferSize
        connection.onConnect = { [weak self] _ in self?.connected() }
        connection.onMessage = { [weak self] _, reply in self?.received(reply) }
        connection.onBufferDrain = { [weak self] _ in self?.onDrain?() }
        connection.onError = { [weak self] _, error in
            guard let self, self.closeReason == nil else { return }
            self.closeReason = RedisError(.connection, "\(self.address): \(error.description)")
        }
        connection.onClose = { [weak self] _ in self?.closed() }
        self.connection = connection
        closeReason = nil
        protocolInUse = .resp2
        subscriptions.connectionStarted()
        connection.connect()
    }

    /// Sends `command`; `reply` runs on the loop with Redis' answer (`-ERR` answers are failures).
    /// Commands issued before the connection is ready wait for it; on a closed client they fail at once.
    public func send(_ command: RedisCommand, _ reply: ((Result<RESPValue, RedisError>) -> Void)? = nil) {
        let expectsReply = subscriptions.expectsReply(command.name)
        let waiter: ReplyWaiter = expectsReply ? (reply.map { .single($0) } ?? .ignored) : .ignored
        enqueue(command, waiter, expectsReply: expectsReply)
    }

    /// Closes the connection and stops reconnecting; commands waiting fail.
    public func close() {
        closedByUser = true
        finishStreams()
        if let reconnectTimer { loop.cancelTimer(reconnectTimer) }
        reconnectTimer = nil
        closeReason = RedisError(.connection, "\(address): closed by the client")
        if let connection {
            connection.destroy()
        } else {
            failUnsent(closeReason!)
        }
    }

    // MARK: - Plumbing

    /// Sends (or queues) one command with its waiter; shared by `send`, pipelines and transactions.
    func enqueue(_ command: RedisCommand, _ waiter: ReplyWaiter, expectsReply: Bool = true) {
        if isConnected, let connection {
            if expectsReply { waiters.push(waiter) }
            if connection.send(command) == .failed, expectsReply {
                // Refused (send buffer full): the waiter we just pushed is the last one; nothing after it.
                dropLastWaiter(RedisError(.queueFull, "\(address): send buffer full (\(configuration.maxSendBufferSize) bytes)"))
            }
        } else if connection != nil || reconnectTimer != nil {
            guard unsent.count < configuration.maxQueuedCommands else {
                let error = RedisError(.queueFull, "\(address): \(unsent.count) commands already wait for a connection")
                loop.nextTick { waiter.deliver(.failure(error)) }
                return
            }
            unsent.append((command, waiter, expectsReply))
        } else {
            let error = RedisError(.connection, "\(address): not connected")
            loop.nextTick { waiter.deliver(.failure(error)) }
        }
    }

    /// Sends many commands as one write (a pipeline) when connected.
    func enqueue(batch commands: [RedisCommand], _ body: @escaping (Int, Result<RESPValue, RedisError>) -> Void) {
        guard isConnected, let connection, !subscriptions.blocksCommands else {
            for (index, command) in commands.enumerated() { enqueue(command, .element(index, body)) }
            return
        }
        var buffer = ByteBuffer()
        for (index, command) in commands.enumerated() {
            RESPCodec.encode(command, into: &buffer)
            waiters.push(.element(index, body))
        }
        if connection.sendRaw(buffer) == .failed {
            let error = RedisError(.queueFull, "\(address): send buffer full (\(configuration.maxSendBufferSize) bytes)")
            for _ in commands { dropLastWaiter(error) }
        }
    }

    private func dropLastWaiter(_ error: RedisError) {
        var kept = Array(waiters.drain())
        let dropped = kept.removeLast()
        for waiter in kept { waiters.push(waiter) }
        loop.nextTick { dropped.deliver(.failure(error)) }
    }

    private func connected() {
        failedAttempts = 0
        var handshake: [RedisCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                handshake.append(RedisCommand("AUTH", RedisArgument(username), RedisArgument(password)))
            } else {
                handshake.append(RedisCommand("AUTH", RedisArgument(password)))
            }
        }
        // After AUTH: a server with a password refuses HELLO from a client not yet authenticated.
        if configuration.protocolVersion == .resp3 { handshake.append(["HELLO", "3"]) }
        if configuration.database != 0 { handshake.append(RedisCommand("SELECT", RedisArgument(configuration.database))) }
        handshakeReplies = handshake.count
        for command in handshake {
            waiters.push(.single { [weak self] result in self?.handshakeAnswered(command.name, result) })
            connection?.send(command)
        }
        if handshake.isEmpty { becomeReady() }
    }

    private func handshakeAnswered(_ name: String, _ result: Result<RESPValue, RedisError>) {
        if name == "HELLO" {
            // Refused (Redis before 6 answers "unknown command", or NOPROTO): stay on RESP2, go on.
            if case .success(let reply) = result {
                protocolInUse = .resp3
                subscriptions.pushFrames = true
                serverInfo = Self.helloFields(reply)
            }
            handshakeReplies -= 1
            if handshakeReplies == 0 { becomeReady() }
            return
        }
        if case .failure(let error) = result {
            if error.code == .server {
                closeReason = RedisError(.handshake, "\(address): \(name) failed: \(error.detail)")
                connection?.destroy()
            }
            return
        }
        handshakeReplies -= 1
        if handshakeReplies == 0 { becomeReady() }
    }

    /// The text and number fields of `HELLO`'s map (its `modules` list is left out).
    package static func helloFields(_ reply: RESPValue) -> [String: String] {
        guard case .map(let pairs) = reply.withoutAttributes else { return [:] }
        var fields: [String: String] = [:]
        for pair in pairs {
            guard let key = pair.key.string else { continue }
            if let text = pair.value.string {
                fields[key] = text
            } else if let number = pair.value.integer {
                fields[key] = String(number)
            }
        }
        return fields
    }

    private func becomeReady() {
        guard let connection else { return }
        isConnected = true
        for command in subscriptions.resubscribeCommands() { connection.send(command) }
        let queued = unsent
        unsent.removeAll()
        for entry in queued { enqueue(entry.command, entry.waiter, expectsReply: entry.expectsReply) }
        onConnect?()
    }

    private func received(_ reply: RESPValue) {
        if case .push = reply {
            // RESP3: never the answer to a command, whatever the connection is doing.
            _ = subscriptions.handlePush(reply)
            onPush?(reply)
            return
        }
        if !subscriptions.pushFrames, subscriptions.isSubscriber, subscriptions.handlePush(reply) {
            onPush?(reply)
            return
        }
        guard let waiter = waiters.pop() else {
            onPush?(reply)
            return
        }
        if case .error(let message) = reply {
            waiter.deliver(.failure(RedisError(.server, message)))
        } else {
            waiter.deliver(.success(reply))
        }
    }

    private func closed() {
        let wasConnected = isConnected
        let reason =
            closeReason
            ?? RedisError(.connection, "\(address): " + (wasConnected ? "the server closed the connection" : "could not connect"))
        isConnected = false
        connection = nil
        for waiter in waiters.drain() { waiter.deliver(.failure(reason)) }
        subscriptions.connectionLost(reason)
        if let delay = configuration.reconnectDelay, !closedByUser, reason.code != .invalidAddress {
            let wait = min(configuration.maxReconnectDelay, delay * Double(1 << min(failedAttempts, 16)))
            failedAttempts += 1
            // Commands queued for this attempt fail now; new ones wait for the next attempt.
            failUnsent(reason)
            reconnectTimer = try? loop.addTimer(after: wait) { [weak self] in
                self?.reconnectTimer = nil
                self?.connect()
            }
        } else {
            failUnsent(reason)
        }
        onClose?(reason)
    }

    private func failUnsent(_ reason: RedisError) {
        let queued = unsent
        unsent.removeAll()
        for entry in queued where entry.expectsReply { entry.waiter.deliver(.failure(reason)) }
    }
}
