import WorkermanEventLoop

/// Limits a server keeps on its connections, in this process. Nil: no limit.
///
/// ```swift
/// server.limits = ConnectionLimits(maxConnections: 10_000, maxConnectionsPerIP: 100, idleTimeout: 75)
/// ```
public struct ConnectionLimits: Hashable, Sendable {
    /// Connections at once. At the limit the server stops accepting (new connections wait in the
    /// listen backlog, or go to another process sharing the listener) until one closes; with
    /// `TCPServer.onOverLimit` set, it accepts and hands the extra connection to that instead (an HTTP
    /// server answers 503).
    public var maxConnections: Int?
    /// Connections at once from one IP address; one more is closed at once (or handed to `onOverLimit`).
    public var maxConnectionsPerIP: Int?
    /// Seconds a connection may sit idle (nothing received or sent, nothing half done) before it is
    /// closed: for keep-alive connections that clients forget.
    public var idleTimeout: Double?

    public init(maxConnections: Int? = nil, maxConnectionsPerIP: Int? = nil, idleTimeout: Double? = nil) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.idleTimeout = idleTimeout
    }

    /// Whether any limit is set (the accept path checks nothing otherwise).
    public var isEmpty: Bool { maxConnections == nil && maxConnectionsPerIP == nil && idleTimeout == nil }

    /// The first setting that is not a positive number, as "name must be …"; nil when all are valid.
    public var problem: String? {
        if let maxConnections, maxConnections < 1 { return "maxConnections must be at least 1 (got \(maxConnections))" }
        if let maxConnectionsPerIP, maxConnectionsPerIP < 1 {
            return "maxConnectionsPerIP must be at least 1 (got \(maxConnectionsPerIP))"
        }
        if let idleTimeout, !(idleTimeout > 0) || !idleTimeout.isFinite {
            return "idleTimeout must be a positive number of seconds (got \(idleTimeout))"
        }
        return nil
    }
}

/// What a server keeps to enforce its `ConnectionLimits`.
struct LimitState {
    /// Accepting paused because `maxConnections` was reached (not by the user's `pauseAccept`).
    var pausedAtLimit = false
    /// Admitted connections per remote IP, and each connection's IP (only with `maxConnectionsPerIP`).
    var perIP: [String: Int] = [:]
    var ipOfConnection: [Int: String] = [:]
    /// The idle sweep: each connection's byte count at its last change, and since when it is unchanged.
    var lastSeen: [Int: (bytes: Int, since: UInt64)] = [:]
    var idleTimer: TimerID?
}
