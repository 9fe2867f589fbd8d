import WorkermanProtocols
import WorkermanTransport

/// The WebSocket hooks of a `websocket://` worker, kept together behind `onCodecEvent`.
final class WebSocketHooks {
    var onConnect: ((TCPConnection<WebSocketServerCodec>, HTTPRequest) throws -> Void)?
    var onPing: ((TCPConnection<WebSocketServerCodec>, ByteBuffer) throws -> Void)?
    var onPong: ((TCPConnection<WebSocketServerCodec>, ByteBuffer) throws -> Void)?
    var onClose: ((TCPConnection<WebSocketServerCodec>, Int, String) throws -> Void)?

    func handle(_ connection: TCPConnection<WebSocketServerCodec>, _ event: WebSocketEvent) throws {
        switch event {
        case .handshake(let request?):
            try onConnect?(connection, request)
            // Not closed, not rejected: accept, with whatever headers the hook set on the codec.
            connection.acceptWebSocket()
        case .handshake(nil):
            connection.acceptWebSocket()
        case .ping(let payload):
            try onPing?(connection, payload)
        case .pong(let payload):
            try onPong?(connection, payload)
        case .close(let code, let reason):
            try onClose?(connection, code, reason)
        }
    }
}

extension Worker where C == WebSocketServerCodec {
    /// A WebSocket worker: `onMessage` gets `WebSocketMessage`s (text or binary).
    ///
    /// ```swift
    /// let ws = try Worker(websocket: "0.0.0.0:2346")
    /// ws.onMessage = { connection, message in connection.send("hello \(message)") }
    /// ```
    public convenience init(websocket address: String) throws(TransportError) {
        try self.init("websocket://" + address)
    }

    private var webSocketHooks: WebSocketHooks {
        if let hooks = protocolHooks as? WebSocketHooks { return hooks }
        let hooks = WebSocketHooks()
        protocolHooks = hooks
        onCodecEvent = { connection, event in try hooks.handle(connection, event) }
        return hooks
    }

    /// Runs before the handshake is answered, with the upgrade request (path, query, headers, `Origin`,
    /// cookies). Close the connection or call `rejectWebSocket(status:)` to refuse; set
    /// `connection.codec.responseHeaders` to add headers (e.g. `Sec-WebSocket-Protocol`) to the 101.
    public var onWebSocketConnect: ((TCPConnection<C>, HTTPRequest) throws -> Void)? {
        get { (protocolHooks as? WebSocketHooks)?.onConnect }
        set { webSocketHooks.onConnect = newValue }
    }

    /// Runs for each ping (the pong with the same payload is sent anyway).
    public var onWebSocketPing: ((TCPConnection<C>, ByteBuffer) throws -> Void)? {
        get { (protocolHooks as? WebSocketHooks)?.onPing }
        set { webSocketHooks.onPing = newValue }
    }

    public var onWebSocketPong: ((TCPConnection<C>, ByteBuffer) throws -> Void)? {
        get { (protocolHooks as? WebSocketHooks)?.onPong }
        set { webSocketHooks.onPong = newValue }
    }

    /// Runs when the peer's close frame arrives (the close is answered and the connection closes anyway).
    public var onWebSocketClose: ((TCPConnection<C>, Int, String) throws -> Void)? {
        get { (protocolHooks as? WebSocketHooks)?.onClose }
        set { webSocketHooks.onClose = newValue }
    }
}

extension Worker where C == HTTPServerCodec {
    /// An HTTP/1.1 worker: `onMessage` gets `HTTPRequest`s; answer each with `connection.send(…)`. A
    /// route may upgrade its connection to a WebSocket on the same port (`upgradeToWebSocket`).
    public convenience init(http address: String) throws(TransportError) {
        try self.init("http://" + address)
        partialMessageTimeout = 60
        isStalled = { connection in connection.codec.isReceivingHead }
        isBetweenExchanges = { connection in
            connection.codec.isIdle && connection.codec.unansweredRequests == 0 && !connection.codec.isStreamingResponse
                && connection.bufferIsEmpty
        }
        overLimitAnswer = { connection in
            // The request is read first: closing with it unread would reset the connection, and the
            // client could lose the answer.
            connection.onMessage = { connection, _ in
                connection.sendRaw("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                connection.close()
            }
        }
        onStalled = { connection in
            // RFC 9110 §15.5.9: tell the client why, then close.
            connection.sendRaw("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            connection.close()
        }
    }

    /// This process's WebSocket connections upgraded from this worker's requests, by id (to broadcast).
    public var webSocketConnections: [Int: TCPConnection<WebSocketServerCodec>] { server?.webSocketConnections ?? [:] }
}

extension Worker where C == TextCodec {
    /// A newline-framed text worker.
    public convenience init(text address: String) throws(TransportError) {
        try self.init("text://" + address)
    }
}

extension Worker where C == FrameCodec {
    /// A length-prefixed frame worker (4-byte big-endian total length).
    public convenience init(frame address: String) throws(TransportError) {
        try self.init("frame://" + address)
    }
}
