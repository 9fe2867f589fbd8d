import WorkermanTransport

/// One message a subscriber received: on `channel`, matched by `pattern` when it came through
/// `psubscribe`.
public struct RedisPubSubMessage: Sendable, Equatable {
    public let channel: String
    public let pattern: String?
    public let payload: ByteBuffer

    public init(channel: String, pattern: String?, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as UTF-8 text.
    public var string: String { payload.string }
}

extension RedisClient {
    /// Subscribes to `channels`; `onMessage` gets what is published on them. The subscriptions are kept
    /// and made again after a reconnect. In RESP2 a subscriber connection runs only (un)subscribe and
    /// `PING`: use another client for other commands. On RESP3 (`protocolVersion = .resp3`) messages
    /// arrive as push frames and the same client keeps running every command.
    ///
    /// ```swift
    /// redis.subscribe(["news"], subscribed: { print("ready") }) { message in print(message.string) }
    /// ```
    ///
    /// - Parameter subscribed: Called when Redis has confirmed the last of `channels`.
    public func subscribe(
        _ channels: [String],
        subscribed: (() -> Void)? = nil,
        onMessage: @escaping (RedisPubSubMessage) -> Void
    ) {
        guard let last = channels.last else { return }
        for channel in channels { subscriptions.channels[channel] = onMessage }
        if let subscribed { subscriptions.confirmations["subscribe\u{0}" + last] = subscribed }
        if isConnected { send(RedisCommand(["SUBSCRIBE"] + channels.map { ByteBuffer($0) })) }
    }

    /// Subscribes to channels matching glob-style `patterns` (`news.*`); messages carry the pattern.
    ///
    /// ```swift
    /// redis.psubscribe(["user:*"]) { message in print(message.pattern!, message.channel) }
    /// ```
    public func psubscribe(
        _ patterns: [String],
        subscribed: (() -> Void)? = nil,
        onMessage: @escaping (RedisPubSubMessage) -> Void
    ) {
        guard let last = patterns.last else { return }
        for pattern in patterns { subscriptions.patterns[pattern] = onMessage }
        if let subscribed { subscriptions.confirmations["psubscribe\u{0}" + last] = subscribed }
        if isConnected { send(RedisCommand(["PSUBSCRIBE"] + patterns.map { ByteBuffer($0) })) }
    }

    /// Stops the subscriptions to `channels` (all of them when empty).
    public func unsubscribe(_ channels: [String] = []) {
        if channels.isEmpty { subscriptions.channels.removeAll() }
        for channel in channels { subscriptions.channels[channel] = nil }
        if isConnected, subscriptions.isSubscriber { send(RedisCommand(["UNSUBSCRIBE"] + channels.map { ByteBuffer($0) })) }
    }

    /// Stops the subscriptions to `patterns` (all of them when empty).
    public func punsubscribe(_ patterns: [String] = []) {
        if patterns.isEmpty { subscriptions.patterns.removeAll() }
        for pattern in patterns { subscriptions.patterns[pattern] = nil }
        if isConnected, subscriptions.isSubscriber { send(RedisCommand(["PUNSUBSCRIBE"] + patterns.map { ByteBuffer($0) })) }
    }
}

/// What a client is subscribed to (kept across reconnects) and whether its connection is in subscriber
/// mode, where confirmations and messages arrive as pushes instead of replies.
struct SubscriptionState {
    var channels: [String: (RedisPubSubMessage) -> Void] = [:]
    var patterns: [String: (RedisPubSubMessage) -> Void] = [:]
    /// Callbacks for the confirmation of `kind NUL name`.
    var confirmations: [String: () -> Void] = [:]
    private(set) var isSubscriber = false
    /// RESP3: confirmations and messages come as push frames, apart from replies, so a subscribed
    /// connection still runs every command and each gets its reply.
    var pushFrames = false

    /// Whether only (un)subscribe commands and `PING` may run now (RESP2 in subscriber mode).
    var blocksCommands: Bool { isSubscriber && !pushFrames }

    private static let subscribing: Set<String> = ["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"]
    private static let pushKinds: Set<String> = ["message", "pmessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe"]

    /// Whether a command named `name` gets a reply (subscribe commands are confirmed by pushes); a
    /// subscribe command makes the connection a subscriber from then on.
    mutating func expectsReply(_ name: String) -> Bool {
        let subscribing = Self.subscribing.contains(name)
        if subscribing { isSubscriber = true }
        if pushFrames { return !subscribing }
        return !(isSubscriber || subscribing) || name == "PING"
    }

    mutating func connectionStarted() {
        isSubscriber = false
        pushFrames = false
    }

    mutating func connectionLost(_ reason: RedisError) { isSubscriber = false }

    /// The commands that restore the subscriptions on a new connection.
    mutating func resubscribeCommands() -> [RedisCommand] {
        var commands: [RedisCommand] = []
        if !channels.isEmpty { commands.append(RedisCommand(["SUBSCRIBE"] + channels.keys.sorted().map { ByteBuffer($0) })) }
        if !patterns.isEmpty { commands.append(RedisCommand(["PSUBSCRIBE"] + patterns.keys.sorted().map { ByteBuffer($0) })) }
        if !commands.isEmpty { isSubscriber = true }
        return commands
    }

    /// Dispatches `reply` if it is a push; false when it is an ordinary reply.
    mutating func handlePush(_ reply: RESPValue) -> Bool {
        // RESP2 sends these as arrays, RESP3 as pushes; the kind may be a bulk or simple string.
        guard let parts = reply.array, parts.count >= 3, let kind = parts[0].string else { return false }
        guard Self.pushKinds.contains(kind) else { return false }
        switch kind {
        case "message":
            if let channel = parts[1].string, let payload = parts[2].bytes {
                channels[channel]?(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload))
            }
        case "pmessage":
            if parts.count == 4, let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes {
                patterns[pattern]?(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
            }
        case "subscribe", "psubscribe":
            if let name = parts[1].string, let done = confirmations.removeValue(forKey: kind + "\u{0}" + name) { done() }
        default:
            if parts[2].integer == 0 { isSubscriber = false }
        }
        return true
    }
}
