/// A connection's life, as Workerman's `STATUS_*`: client connections start `initial`, go `connecting`,
/// then `established`; `close()` with output pending passes through `closing`; every path ends `closed`.
public enum ConnectionStatus: String, Hashable, Sendable, CustomStringConvertible {
    case initial = "INITIAL"
    case connecting = "CONNECTING"
    case established = "ESTABLISHED"
    case closing = "CLOSING"
    case closed = "CLOSED"

    public var description: String { rawValue }
}

/// What `send` did with the bytes (Workerman's true / null / false).
public enum SendResult: Hashable, Sendable {
    /// All of it went to the kernel's socket buffer.
    case written
    /// It waits in the connection's send buffer (or, for a codec, until a handshake completes).
    case queued
    /// Dropped: the connection is closing or closed, or its send buffer was already full.
    case failed
}
