import WorkermanEventLoop

/// Who opened a stream connection, as a value the connection holds: a server accepted it, or this program
/// connects it as a client, which may connect it again. The role decides the few things that differ (a
/// client resolves and connects, times the attempt out, reconnects, and masks WebSocket frames); the
/// receive loop, the send queue, the lifecycle and the callbacks are the same parts for both.
///
/// A value rather than a subclass with empty hooks: a reader finds both roles' behaviour in the one class,
/// and the type users see in every callback (`TCPConnection<C>`) is the type that connects, so
/// `client.reconnect(after:)` in an `onClose` needs no cast.
@usableFromInline
package enum ConnectionRole<C: Codec> {
    /// Accepted by a server (or brought up by an embedded connection in tests): one life, accept to close.
    case accepted
    /// Connected by this program to `ClientState.endpoint`, again after every reconnect.
    case client(ClientState<C>)

    /// True for a client connection (its codec masks WebSocket frames and sends the upgrade request).
    @usableFromInline
    var isClient: Bool {
        if case .client = self { return true }
        return false
    }

    /// The client's connect and reconnect state, or nil for an accepted connection.
    var client: ClientState<C>? {
        if case .client(let state) = self { return state }
        return nil
    }
}

/// What a client connection keeps between attempts: where it connects, its settings, and the attempt in
/// progress (timers, the address being tried, the task awaiting `connect() async`). A class, so the
/// connection holds one reference whatever the role, and an accepted connection pays no more than that.
@usableFromInline
package final class ClientState<C: Codec> {
    let endpoint: Endpoint
    var connectTimeout: Double? = 10
    var security: (any StreamSecurity)?
    /// The task awaiting `connect() async`, resumed when this attempt succeeds or fails.
    var connectWaiter: LoopCompletion<Void>?
    var reconnectTimer: TimerID?
    var timeoutTimer: TimerID?
    /// The loop clock's reading when this attempt started (for the failure's "after N seconds").
    var connectStarted: UInt64 = 0
    var pendingAddress: SocketAddress?
    /// The codec as configured when `connect()` was first called; each reconnect starts from a copy, so
    /// settings survive and per-connection state does not.
    var codecTemplate: C?

    init(endpoint: Endpoint) { self.endpoint = endpoint }
}
