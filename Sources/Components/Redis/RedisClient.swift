import WorkermanEventLoop
import WorkermanTransport

/// Why a Redis command failed.
public struct RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Equatable, Sendable {
        /// Redis answered `-ERR …` (the message is in `detail`).
        case server
        /// The connection failed or closed with the command unanswered.
        case connection
        /// An address that does not parse.
        case invalidAddress
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "Redis \(code.rawValue) error: \(detail)" }
}

/// A small asynchronous Redis client over one connection (RESP2): commands are pipelined and their
/// replies matched in order. After `SUBSCRIBE` the connection is a subscriber: published messages
/// (and subscribe confirmations) arrive through `onPush`. It does not reconnect by itself: `onClose`
/// says when, and `connect()` starts again (the Channel backend reconnects every second).
///
/// ```swift
/// let redis = try RedisClient(loop: loop, address: "127.0.0.1:6379")
/// redis.connect()
/// redis.send(["INCR", "visits"]) { reply in print(try reply.get()) }
/// ```
public final class RedisClient {
    public let loop: EventLoop
    public let address: String
    private let url: String

    /// Called once connected.
    public var onConnect: (() -> Void)?
    /// Called when the connection is gone (commands waiting have failed by then), with the reason.
    public var onClose: ((RedisError) -> Void)?
    /// Messages of a subscriber connection: `["message", channel, payload]`, `["subscribe", channel, n]` …
    public var onPush: ((RESPValue) -> Void)?
    /// Called when the send buffer empties after having held data (for callers that pace themselves).
    public var onDrain: (() -> Void)?
    /// Seconds a connection attempt may take.
    public var connectTimeout = 5.0

    private var connection: TCPClient<RESPCodec>?
    public private(set) var isConnected = false
    private var waiters = FIFO<(Result<RESPValue, RedisError>) -> Void>()
    /// Commands issued while connecting, sent once connected.
    private var unsent: [RedisCommand] = []
    private var isSubscriber = false
    private var closeReason: RedisError?

    /// A client of the Redis server at `address` (`host:port` or `unix:///path`); call `connect()`.
    ///
    /// - Throws: `RedisError` `.invalidAddress`.
    public init(loop: EventLoop, address: String = "127.0.0.1:6379") throws(RedisError) {
        self.loop = loop
        self.address = address
        url = address.hasPrefix("unix://") ? address : "tcp://" + address
        do {
            _ = try Endpoint(url)
        } catch {
            throw RedisError(.invalidAddress, "\(error)")
        }
    }

    /// Connected, and less than half of the send buffer's limit is queued.
    public var isWritable: Bool {
        guard isConnected, let connection else { return false }
        return connection.sendBufferQueueSize < connection.maxSendBufferSize / 2
    }

    /// Whether a connection is open or being opened.
    public var isActive: Bool { connection != nil }

    /// Opens the connection (does nothing while one is open or opening).
    public func connect() {
        guard connection == nil else { return }
        let connection: TCPClient<RESPCodec>
        do {
            connection = try TCPClient<RESPCodec>(loop: loop, url: url)
        } catch {
            closeReason = RedisError(.invalidAddress, "\(error)")
            loop.nextTick { [weak self] in self?.closed() }
            return
        }
        connection.connectTimeout = connectTimeout
        connection.onConnect = { [weak self] connection in
            guard let self else { return }
            self.isConnected = true
            for command in self.unsent { connection.send(command) }
            self.unsent.removeAll()
            self.onConnect?()
        }
        connection.onMessage = { [weak self] _, reply in self?.received(reply) }
        connection.onBufferDrain = { [weak self] _ in self?.onDrain?() }
        connection.onError = { [weak self] _, error in
            if self?.closeReason == nil { self?.closeReason = RedisError(.connection, error.description) }
        }
        connection.onClose = { [weak self] _ in self?.closed() }
        self.connection = connection
        closeReason = nil
        isSubscriber = false
        connection.connect()
    }

    /// Sends `command`; `reply` runs on the loop with Redis' answer (`-ERR` answers are failures).
    /// Commands issued before the connection is up wait for it; on a closed client they fail at once.
    public func send(_ command: RedisCommand, _ reply: ((Result<RESPValue, RedisError>) -> Void)? = nil) {
        let name = command.name
        let expectsReply = !(isSubscriber || Self.subscribing.contains(name)) || name == "PING"
        if Self.subscribing.contains(name) { isSubscriber = true }
        if expectsReply {
            waiters.push(reply ?? { _ in })
        }
        if isConnected, let connection {
            connection.send(command)
        } else if connection != nil {
            unsent.append(command)
        } else if expectsReply {
            _ = waiters.pop()
            loop.nextTick { reply?(.failure(RedisError(.connection, "not connected"))) }
        }
    }

    /// Closes the connection; commands waiting fail.
    public func close() {
        closeReason = RedisError(.connection, "closed by the client")
        connection?.destroy()
    }

    // MARK: - Plumbing

    /// Commands whose confirmations arrive as pushes, not replies.
    private static let subscribing: Set<String> = ["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"]
    private static let pushKinds: Set<String> = ["message", "pmessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe"]

    private func received(_ reply: RESPValue) {
        if isSubscriber, case .array(let parts) = reply, let kind = parts.first?.string, Self.pushKinds.contains(kind) {
            onPush?(reply)
            return
        }
        guard let waiter = waiters.pop() else {
            onPush?(reply)
            return
        }
        if case .error(let message) = reply {
            waiter(.failure(RedisError(.server, message)))
        } else {
            waiter(.success(reply))
        }
    }

    private func closed() {
        let reason = closeReason ?? RedisError(.connection, isConnected ? "the server closed the connection" : "could not connect")
        isConnected = false
        connection = nil
        unsent.removeAll()
        for waiter in waiters.removeAll() { waiter(.failure(reason)) }
        onClose?(reason)
    }
}
