import WorkermanEventLoop
import WorkermanTransport

/// A Channel client for a worker process (walkor/Channel's `Channel\Client`): subscribe to events with
/// `on`, `publish` to every subscriber in every process, and in queue mode `watch` a queue that hands
/// each `enqueue`d job to exactly one consumer. The backend — a Channel server or Redis — is chosen by
/// configuration; the API is the same.
///
/// ```swift
/// ws.onWorkerStart = { worker in
///     let channel = try ChannelClient(loop: worker.loop!, server: "127.0.0.1:2206")
///     channel.on("broadcast") { data in
///         for connection in ws.connections.values { connection.send(.text(data["content"]?.stringValue ?? "")) }
///     }
///     channel.publish("broadcast", ["content": "worker \(worker.id) is up"])
/// }
/// ```
///
/// It reconnects every `reconnectInterval` (1 s) after a loss and restores its subscriptions and
/// watches; it pings every `pingInterval` (25 s) so NAT mappings of a quiet connection survive.
/// Publishes and enqueues made while disconnected, or while the connection's send buffer is full, wait
/// (up to `maxPendingMessages`, then each further one is dropped and reported through `onDrop`) and go
/// out, in order, once the connection takes them.
///
/// Once connecting, a client keeps itself alive until `close()`, like a listening server: a worker need
/// not store it for its subscriptions to keep working.
public final class ChannelClient {
    /// How a client connects and how much it buffers.
    public struct Configuration: Sendable {
        public var backend: ChannelBackendKind
        /// Seconds between reconnection attempts.
        public var reconnectInterval = 1.0
        /// Seconds between keep-alive pings on a quiet connection (nil: none).
        public var pingInterval: Double? = 25
        /// How many publishes and enqueues may wait for a connection before new ones are dropped.
        public var maxPendingMessages = 10_000

        public init(backend: ChannelBackendKind) { self.backend = backend }
    }

    /// A publish or enqueue that could not be kept while disconnected.
    public struct Drop: Sendable, CustomStringConvertible {
        public enum Kind: String, Sendable { case publish, enqueue }
        public let kind: Kind
        public let channels: [String]
        public let data: PHPValue
        public var description: String { "\(kind.rawValue) to \(channels.joined(separator: ", ")) dropped" }
    }

    private enum Pending {
        case publish([String], PHPValue)
        case enqueue([String], PHPValue)
    }

    private struct QueueWatch {
        var callback: (PHPValue) throws -> Void
        var autoReserve: Bool
    }

    public let loop: EventLoop
    public let configuration: Configuration
    private let backend: ChannelBackend
    private var started = false
    private var closed = false
    /// Set from `connect()` to `close()`: the backend holds its delegate weakly, so this is what keeps a
    /// subscribed client alive when the program keeps no reference.
    private var keepAlive: ChannelClient?

    /// Subscribed events in subscription order, with their callbacks (nil: `onMessage` handles them).
    private var events: [String] = []
    private var eventCallbacks: [String: (PHPValue) throws -> Void] = [:]
    private var queues: [String] = []
    private var queueWatches: [String: QueueWatch] = [:]
    private var pending = FIFO<Pending>()
    /// The sequences `events` and `jobs` made, ended by `close()`.
    var streams: [Weak<LoopStream<PHPValue>>] = []
    /// A `reserve` the backend has not answered with a job yet, restored after a reconnect.
    private var reservationOpen = false

    /// Handles events subscribed without a callback (`subscribe`), or with none any more.
    public var onMessage: ((String, PHPValue) throws -> Void)?
    /// Called on every (re)connection, after subscriptions are restored.
    public var onConnect: (() throws -> Void)?
    /// Called when the connection is lost (a reconnect is already scheduled).
    public var onClose: (() throws -> Void)?
    /// Called for each publish or enqueue dropped because too many were waiting for a connection.
    /// Default: a log line.
    public var onDrop: ((Drop) -> Void)?
    /// Where lost connections and drops are reported.
    public var log: ComponentLogger = ComponentLog.standardError {
        didSet { setBackendLog(log) }
    }

    /// A client of the Channel server at `server` (`host:port` or `unix:///path`).
    public convenience init(loop: EventLoop, server: String = "127.0.0.1:2206") {
        self.init(loop: loop, configuration: Configuration(backend: .server(server)))
    }

    /// A client with the backend and limits of `configuration`. Connects on `connect()` or on first use.
    public init(loop: EventLoop, configuration: Configuration) {
        self.loop = loop
        self.configuration = configuration
        switch configuration.backend {
        case .server(let address):
            backend = ServerChannelBackend(
                loop: loop,
                server: address,
                reconnectInterval: configuration.reconnectInterval,
                pingInterval: configuration.pingInterval,
                log: ComponentLog.standardError
            )
        case .redis(let address, let prefix):
            backend = RedisChannelBackend(
                loop: loop,
                address: address,
                prefix: prefix,
                reconnectInterval: configuration.reconnectInterval,
                pingInterval: configuration.pingInterval,
                log: ComponentLog.standardError
            )
        }
        backend.delegate = self
    }

    deinit { backend.stop() }

    /// Whether the backend is connected now.
    public var isConnected: Bool { backend.isReady }

    /// Publishes and enqueues held back: while disconnected, or while the connection's send buffer is
    /// full. A producer that publishes in bulk can pace itself on it.
    public var pendingCount: Int { pending.count }

    /// Starts connecting (calling it again does nothing). Every other call connects too.
    public func connect() {
        guard !started, !closed else { return }
        started = true
        keepAlive = self
        backend.start()
    }

    /// Disconnects for good: no reconnect; waiting publishes are discarded.
    public func close() {
        closed = true
        backend.stop()
        _ = pending.removeAll()
        keepAlive = nil
        finishStreams()
    }

    // MARK: - Events

    /// Subscribes to `event` and calls `callback` with the data of each one published, in this process.
    /// One callback per event: a second `on` replaces the first.
    public func on(_ event: String, _ callback: @escaping (PHPValue) throws -> Void) {
        eventCallbacks[event] = callback
        subscribe([event])
    }

    /// Subscribes to `events` (their data goes to their `on` callbacks, else to `onMessage`).
    public func subscribe(_ events: [String]) {
        let fresh = events.filter { !self.events.contains($0) }
        self.events += fresh
        connect()
        if backend.isReady, !fresh.isEmpty { backend.subscribe(fresh) }
    }

    public func subscribe(_ event: String) { subscribe([event]) }

    /// Stops receiving `events` and forgets their callbacks.
    public func unsubscribe(_ events: [String]) {
        self.events.removeAll { events.contains($0) }
        for event in events { eventCallbacks[event] = nil }
        if backend.isReady { backend.unsubscribe(events) }
    }

    public func unsubscribe(_ event: String) { unsubscribe([event]) }

    /// Sends `data` to every subscriber of each of `events`, in every process (this one included, if
    /// subscribed).
    public func publish(_ events: [String], _ data: PHPValue) {
        send(.publish(events, data))
    }

    public func publish(_ event: String, _ data: PHPValue) { publish([event], data) }

    // MARK: - Queues

    /// Takes jobs from the queues `channels`: each job enqueued goes to exactly one watching consumer.
    /// With `autoReserve`, this client asks for the next job when `callback` returns; without it, call
    /// `reserve()` when ready (say, when asynchronous work for the last job finished).
    public func watch(_ channels: [String], autoReserve: Bool = true, _ callback: @escaping (PHPValue) throws -> Void) {
        let fresh = channels.filter { !queues.contains($0) }
        queues += fresh
        for channel in channels { queueWatches[channel] = QueueWatch(callback: callback, autoReserve: autoReserve) }
        connect()
        if backend.isReady { backend.watch(channels) }
        if autoReserve { reserve() }
    }

    public func watch(_ channel: String, autoReserve: Bool = true, _ callback: @escaping (PHPValue) throws -> Void) {
        watch([channel], autoReserve: autoReserve, callback)
    }

    /// Stops taking jobs from `channels`.
    public func unwatch(_ channels: [String]) {
        queues.removeAll { channels.contains($0) }
        for channel in channels { queueWatches[channel] = nil }
        if backend.isReady { backend.unwatch(channels) }
    }

    public func unwatch(_ channel: String) { unwatch([channel]) }

    /// Adds `data` to each of the queues `channels`, for one consumer each.
    public func enqueue(_ channels: [String], _ data: PHPValue) {
        send(.enqueue(channels, data))
    }

    public func enqueue(_ channel: String, _ data: PHPValue) { enqueue([channel], data) }

    /// Asks for the next job of the watched queues.
    public func reserve() {
        reservationOpen = true
        connect()
        if backend.isReady { backend.reserve() }
    }

    // MARK: - Sending

    private func send(_ message: Pending) {
        connect()
        if backend.isWritable, pending.isEmpty {
            deliver(message)
            return
        }
        guard pending.count < configuration.maxPendingMessages, !closed else {
            drop(message)
            return
        }
        pending.push(message)
    }

    private func deliver(_ message: Pending) {
        switch message {
        case .publish(let channels, let data): backend.publish(channels, data)
        case .enqueue(let channels, let data): backend.enqueue(channels, data)
        }
    }

    private func drop(_ message: Pending) {
        let drop: Drop
        switch message {
        case .publish(let channels, let data): drop = Drop(kind: .publish, channels: channels, data: data)
        case .enqueue(let channels, let data): drop = Drop(kind: .enqueue, channels: channels, data: data)
        }
        if let onDrop {
            onDrop(drop)
        } else {
            log("Channel client: \(drop) (\(pending.count) messages already wait for a connection)")
        }
    }

    private func setBackendLog(_ log: @escaping ComponentLogger) {
        if let backend = backend as? ServerChannelBackend { backend.log = log }
        if let backend = backend as? RedisChannelBackend { backend.log = log }
    }

    /// Runs a user callback; what it throws goes to the loop's `errorHandler`.
    private func run(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            loop.errorHandler(error)
        }
    }
}

extension ChannelClient: ChannelBackendDelegate {
    func backendReady() {
        if !events.isEmpty { backend.subscribe(events) }
        if !queues.isEmpty {
            backend.watch(queues)
            if reservationOpen || queueWatches.values.contains(where: \.autoReserve) {
                reservationOpen = true
                backend.reserve()
            }
        }
        flushPending()
        if let onConnect { run(onConnect) }
    }

    func backendDrained() {
        flushPending()
    }

    /// Sends held-back messages, in order, while the connection takes them.
    private func flushPending() {
        while backend.isWritable, let message = pending.pop() { deliver(message) }
    }

    func backendLost() {
        if let onClose { run(onClose) }
    }

    func backendDelivered(_ delivery: ChannelDelivery) {
        switch delivery {
        case .event(let channel, let data):
            if let callback = eventCallbacks[channel] {
                run { try callback(data) }
            } else if let onMessage {
                run { try onMessage(channel, data) }
            } else {
                log("Channel client: event \(channel.debugDescription) has no callback")
            }
        case .job(let channel, let data):
            reservationOpen = false
            guard let watch = queueWatches[channel] else {
                log("Channel client: job of queue \(channel.debugDescription) has no callback")
                return
            }
            // As PHP's client: the next reserve goes out even when the callback throws.
            defer { if watch.autoReserve { reserve() } }
            run { try watch.callback(data) }
        }
    }
}
