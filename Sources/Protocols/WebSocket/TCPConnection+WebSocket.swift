import WorkermanEventLoop
import WorkermanTransport

extension TCPConnection where C == WebSocketServerCodec {
    /// Completes a handshake the codec reported (`.handshake`): sends the 101 (with
    /// `codec.responseHeaders`) and any messages held, and starts reading frames.
    public func acceptWebSocket() {
        guard status == .established, codec.phase == .awaitingDecision || codec.phase == .handshake else { return }
        let answer = codec.acceptHandshake()
        sendRaw(answer)
        resumeReceiving()
    }

    /// Refuses a reported handshake with an HTTP error (e.g. 403 for a bad `Origin`) and closes.
    public func rejectWebSocket(status code: Int = 403, reason: String = "Forbidden") {
        guard status == .established else { return }
        sendRaw(codec.rejectHandshake(status: code, reason: reason))
        close()
    }

    /// Sends a ping (a server-side heartbeat; the peer answers with a pong, seen by `onCodecEvent`).
    /// Fails when the connection is not open or `payload` is over 125 bytes (a control frame's limit).
    @discardableResult
    public func ping(_ payload: ByteBuffer = ByteBuffer()) -> SendResult {
        guard codec.isOpen, payload.readableBytes <= 125 else { return .failed }
        return sendRaw(WebSocketServerCodec.frame(opcode: WebSocketOpcode.ping, payload: payload))
    }
}

extension TCPConnection where C == WebSocketClientCodec {
    /// Sends a ping (the keep-alive the client may send on a timer). Fails when the connection is not
    /// open or `payload` is over 125 bytes (a control frame's limit).
    @discardableResult
    public func ping(_ payload: ByteBuffer = ByteBuffer()) -> SendResult {
        guard codec.isOpen, payload.readableBytes <= 125 else { return .failed }
        var frame = ByteBuffer()
        codec.encodeControl(opcode: WebSocketOpcode.ping, payload: payload, into: &frame)
        return sendRaw(frame)
    }
}

/// What the closing handshake needs of a WebSocket codec, on either side.
public protocol WebSocketClosingCodec: Codec {
    /// Whether the handshake completed and the connection has not started closing.
    var isOpen: Bool { get }
    /// Appends a close frame with `code` and `reason` and stops sending data.
    mutating func encodeClose(code: Int, reason: String, into buffer: inout ByteBuffer)
}

extension WebSocketServerCodec: WebSocketClosingCodec {}
extension WebSocketClientCodec: WebSocketClosingCodec {}

extension TCPConnection where C: WebSocketClosingCodec {
    /// Starts the closing handshake (§7.1): sends a close frame with `code` and `reason` (at most 123
    /// bytes of it) and stops sending data. The server closes the socket when the peer's close answers
    /// it (§7.1.2); a client waits for the server to close TCP, which RFC 6455 leaves to the server
    /// (§7.1.1). Either way the socket is closed after `timeout` seconds if that has not happened.
    /// `onClose` fires once, when the socket is closed. A connection whose handshake has not completed
    /// just closes.
    ///
    /// ```swift
    /// client.closeWebSocket(code: WebSocketCloseCode.goingAway, reason: "shutting down")
    /// ```
    public func closeWebSocket(code: Int = WebSocketCloseCode.normal, reason: String = "", timeout: Double = 5) {
        guard status == .established, codec.isOpen else {
            close()
            return
        }
        var frame = ByteBuffer()
        codec.encodeClose(code: code, reason: reason, into: &frame)
        sendRaw(frame)
        destroy(after: timeout)
    }
}

extension TCPConnection {
    /// Closes the socket after `timeout` seconds unless it closed before (a closing handshake's bound).
    fileprivate func destroy(after timeout: Double) {
        guard status == .established,
            let timer = try? loop.addTimer(after: timeout, { [weak self] in self?.destroy() })
        else { return }
        // The timer goes with the connection: left pending, it would keep the loop busy (a stopping worker
        // waiting for an idle loop) for up to `timeout` after the peer answered. The wrapper puts the
        // user's `onClose` back first, so a client that reconnects does not pile up wrappers.
        let userOnClose = onClose
        onClose = { [loop] connection in
            loop.cancelTimer(timer)
            connection.onClose = userOnClose
            try userOnClose?(connection)
        }
    }
}

extension TCPClient where C == WebSocketClientCodec {
    /// Pings the server every `interval` seconds while connected (Workerman's `websocketPingInterval`);
    /// keeps NAT mappings and proxies from dropping an idle connection. The timer ends with the connection.
    public func keepAlive(every interval: Double) throws {
        var timer: TimerID?
        timer = try loop.addTimer(every: interval) { [weak self] in
            guard let self, self.status != .closed || self.isReconnectPending else {
                if let timer { self?.loop.cancelTimer(timer) }
                return
            }
            if self.status == .established { self.ping() }
        }
    }
}
