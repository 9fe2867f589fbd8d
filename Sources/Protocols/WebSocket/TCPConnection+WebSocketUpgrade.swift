import WorkermanTransport

// A WebSocket upgrade from an HTTP route (RFC 6455 §4): one port serves pages and `/ws`. The HTTP
// connection hands its socket to a new `TCPConnection<WebSocketServerCodec>` (see
// `TCPConnection.handOver` in the transport), which its server keeps, closes, drains, lists and counts.

extension HTTPRequest {
    /// Whether the request asks for a WebSocket (`Upgrade: websocket`). `upgradeToWebSocket` checks the
    /// rest of the handshake (GET, HTTP/1.1, `Connection: Upgrade`, version 13, a valid key).
    public var isWebSocketUpgrade: Bool {
        headers(named: "Upgrade").contains { HTTPHeaders.list($0, contains: "websocket") }
    }
}

extension TCPConnection where C == HTTPServerCodec {
    /// Upgrades this HTTP connection to a WebSocket: answers `request` with `101 Switching Protocols`
    /// (plus `headers`, e.g. the `Sec-WebSocket-Protocol` picked from the client's offer) and returns the
    /// WebSocket connection that now owns the socket. Call it from `onMessage` with the request it got, and
    /// set the returned connection's callbacks before returning: frames the client sent right behind its
    /// request reach them in the next tick. To decide later (after a lookup), call `pauseReceiving()` in
    /// `onMessage`, so nothing behind the request is parsed as HTTP, and upgrade when ready.
    ///
    /// ```swift
    /// let web = try Worker(http: "0.0.0.0:8080")
    /// web.onMessage = { connection, request in
    ///     if request.path == "/ws", request.isWebSocketUpgrade {
    ///         guard let ws = connection.upgradeToWebSocket(request, headers: [("Sec-WebSocket-Protocol", "chat")])
    ///         else { return }  // refused: already answered (400, 426, 503)
    ///         ws.onMessage = { ws, message in ws.send(message) }
    ///         ws.onClose = { ws in print("bye \(ws.id)") }
    ///         return
    ///     }
    ///     connection.send("Hello")
    /// }
    /// ```
    ///
    /// The WebSocket connection has the same helpers and codec as a `websocket://` worker's
    /// (`closeWebSocket`, `ping`, `onCodecEvent` for pings, pongs and the peer's close), a new `id`, this
    /// connection's `maxPackageSize` as its frame limit, and its `userInfo`. With `permessageDeflate`, the
    /// client's compression offer is accepted as a `websocket://` worker's codec accepts it. This HTTP connection is finished:
    /// its socket was not closed, so its `onClose` does not fire; the WebSocket's `onClose` fires when the
    /// socket closes. The server's `connections` count stays one for the socket throughout.
    ///
    /// Refusals answer the request and return nil, as a `websocket://` worker answers its handshake,
    /// counted as `packet_err` and reported to `onError` (`.protocolError`): a request that is not a valid
    /// upgrade gets 400 (not GET, not HTTP/1.1, no `Upgrade: websocket` or `Connection: Upgrade`, a
    /// missing or malformed `Sec-WebSocket-Key`, a body), a version other than 13 gets 426 with
    /// `Sec-WebSocket-Version: 13`; a connection draining for a stop or reload answers 503. Each answer
    /// says `Connection: close`, and the HTTP connection closes (its `onClose` fires).
    ///
    /// Pipelining: the 101 must follow the responses to every earlier request, so an upgrade pipelined
    /// behind requests still waiting for their responses is refused rather than delayed: it gets no
    /// answer, those responses are sent (the last with `Connection: close`), the connection closes, and
    /// the client may retry on a new connection (RFC 9112 §9.3.2; browsers never pipeline an upgrade).
    /// An upgrade while a streamed response (chunked, a static file) is still being sent is refused
    /// with `.handoverFailed` and no answer.
    @discardableResult
    public func upgradeToWebSocket(
        _ request: HTTPRequest,
        headers: [(String, String)] = [],
        permessageDeflate: PermessageDeflateOptions? = nil
    ) -> TCPConnection<WebSocketServerCodec>? {
        let operation = "upgrade \(request.path) from \(remoteAddress?.description ?? "peer") to WebSocket"
        let unanswered = codec.unansweredRequests
        guard unanswered <= 1 else {
            codec.abandonNewestRequest()
            reportHandoverFailure(
                TransportError(
                    .protocolError,
                    operation,
                    detail: "pipelined behind \(unanswered - 1) unanswered request(s): closing after their responses"
                )
            )
            return nil
        }
        guard unanswered == 1 else {
            reportHandoverFailure(
                TransportError(.handoverFailed, operation, detail: "the request was answered already")
            )
            return nil
        }
        if let refusal = WebSocketHandshake.validate(request) {
            refuseUpgrade(refusal, operation)
            return nil
        }
        guard !isDraining else {
            refuseUpgrade(
                WebSocketHandshake.Refusal(status: 503, reason: "the server is stopping or reloading"),
                operation
            )
            return nil
        }
        guard !codec.isStreamingResponse else {
            reportHandoverFailure(
                TransportError(.handoverFailed, operation, detail: "an earlier response is still streaming")
            )
            return nil
        }
        let key = request.header("Sec-WebSocket-Key") ?? ""
        let codec = WebSocketServerCodec(upgradedFrom: request, responseHeaders: headers, permessageDeflate: permessageDeflate)
        do {
            return try handOver(to: codec, greeting: WebSocketHandshake.acceptResponse(key: key, headers: codec.acceptHeaders))
        } catch {
            reportHandoverFailure(error)
            return nil
        }
    }

    /// Refuses as the `websocket://` handshake does (a codec rejection): the answer (with `Connection:
    /// close`), then `packet_err` and `onError`, then the close. The answer is written as it is rather than
    /// through the HTTP codec, whose close would come before `onError` and take the callbacks with it;
    /// every earlier request was answered (see the pipelining check), so it is the request's, in order.
    private func refuseUpgrade(_ refusal: WebSocketHandshake.Refusal, _ operation: String) {
        sendRaw(WebSocketHandshake.refusalResponse(refusal))
        let rejection = CodecRejection(refusal.reason, code: refusal.status)
        reportHandoverFailure(TransportError(.protocolError, operation, detail: rejection.description))
        close()
    }
}

extension TCPServer where C == HTTPServerCodec {
    /// The WebSocket connections upgraded from this server's requests (`upgradeToWebSocket`), by id: to
    /// broadcast, or to count the sockets that are WebSockets now.
    public var webSocketConnections: [Int: TCPConnection<WebSocketServerCodec>] {
        handedOverConnections.compactMapValues { $0 as? TCPConnection<WebSocketServerCodec> }
    }
}
