/// How a `RedisClient` connects: credentials, database, time limits, and whether it reconnects by itself.
///
/// ```swift
/// var configuration = RedisConfiguration()
/// configuration.password = "secret"
/// configuration.database = 2
/// configuration.reconnectDelay = 0.5   // reconnect (and re-subscribe) after a lost connection
/// let redis = try RedisClient(loop: loop, address: "10.0.0.5:6379", configuration: configuration)
/// ```
public struct RedisConfiguration: Sendable {
    /// `AUTH` with this password once connected (nil: no `AUTH`).
    public var password: String?
    /// The ACL user for `AUTH` (Redis 6+); nil: the default user.
    public var username: String?
    /// `SELECT` this database once connected (0: no `SELECT`).
    public var database = 0
    /// Seconds a connection attempt may take.
    public var connectTimeout = 5.0
    /// First delay before reconnecting after a lost connection, doubled after each failed attempt up to
    /// `maxReconnectDelay`; nil: never reconnect by itself (`connect()` starts again).
    public var reconnectDelay: Double?
    /// The longest delay between reconnect attempts.
    public var maxReconnectDelay = 5.0
    /// The largest reply accepted (a bulk string longer than this closes the connection with an error).
    public var maxReplySize = 64 * 1024 * 1024
    /// How many bytes of commands may wait in the send buffer (a pipeline larger than this fails its
    /// overflowing commands with `.queueFull`).
    public var maxSendBufferSize = 64 * 1024 * 1024
    /// How many commands may wait for a connection (issued while connecting or reconnecting).
    public var maxQueuedCommands = 100_000
    /// The protocol asked for at connect time. `.resp2` (the default) works with every Redis; `.resp3`
    /// sends `HELLO 3` after `AUTH`: replies then carry their types (maps, sets, doubles, booleans) and a
    /// subscribed connection keeps running ordinary commands, its messages arriving as pushes. A server
    /// that refuses `HELLO` (Redis before 6) leaves the connection on RESP2 (`protocolInUse` says which).
    public var protocolVersion = RedisProtocolVersion.resp2

    public init() {}
}

/// The RESP version a `RedisClient` speaks (see `RedisConfiguration.protocolVersion`).
public enum RedisProtocolVersion: Int, Sendable, Equatable {
    case resp2 = 2
    case resp3 = 3
}
