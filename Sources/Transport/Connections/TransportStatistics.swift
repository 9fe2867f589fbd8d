/// The per-process counters that `status` shows, kept by the transport.
public struct TransportStatistics: Hashable, Sendable {
    /// Open sockets (accepted and client connections), not objects.
    public var connections = 0
    /// Messages delivered to `onMessage` (or raw reads, or datagrams).
    public var totalRequest = 0
    /// Streams a codec rejected.
    public var packetErr = 0
    /// Accepts that found nothing: another process took the connection first.
    public var thunderHerd = 0
    /// Connections the peer closed first.
    public var clientClose = 0
    /// Sends that failed: peer gone, or send buffer full.
    public var sendFail = 0
    /// User callbacks that threw.
    public var throwException = 0
    public var bytesRead = 0
    public var bytesWritten = 0
    /// Accepts refused for lack of descriptors (EMFILE/ENFILE).
    public var acceptFailures = 0
    /// Times a `ConnectionLimits` limit acted: a connection refused or answered 503, or accepting paused.
    public var limitHits = 0
    /// Connections closed by `ConnectionLimits.idleTimeout`.
    public var idleCloses = 0
    /// TLS handshakes that failed or timed out (plain HTTP to a TLS port among them).
    public var handshakeFailures = 0
    /// Async handler tasks started and not finished (see `TaskTracker`).
    public var tasksInFlight = 0
    /// The oldest of them: the `ActivityCallback` raw value that started it (0 when none), its connection
    /// id, and when it started (monotonic nanoseconds), so `status` can show a stuck one and its age.
    public var oldestTaskCallback = 0
    public var oldestTaskSubject = 0
    public var oldestTaskSince = 0

    public init() {}
}
