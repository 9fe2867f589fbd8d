import WorkermanTransport

/// The WebSocket server codec (`websocket://`, RFC 6455 version 13): the upgrade handshake, then frames.
///
/// Incoming: client frames must be masked; fragments are joined into one message; pings are answered
/// with a pong carrying the same payload; text is checked as UTF-8 as it arrives (fail fast, 1007); any
/// violation closes with its code (1002 protocol, 1007 bad UTF-8, 1009 too big), counted as a codec
/// rejection. A close frame is answered with the same code and the connection closes.
///
/// The handshake: with an `onCodecEvent` hook on the connection (a worker's `onWebSocketConnect`), the
/// codec reports `.handshake(request)` and waits: the hook accepts (`acceptHandshake`, optionally with
/// response headers such as `Sec-WebSocket-Protocol`) or rejects (`rejectHandshake`, or just closing).
/// Without one, valid upgrades are accepted at once. Messages sent before the handshake completes are
/// held and sent right after the 101, up to the connection's `maxSendBufferSize` (beyond it a send fails
/// as with a full send buffer).
///
/// Compression (permessage-deflate, RFC 7692) is off unless `permessageDeflate` is set: then the
/// client's first acceptable offer is accepted, and messages are compressed both ways.
///
/// A connection upgraded from an HTTP route (`upgradeToWebSocket`) gets a codec that starts open: the
/// handshake was the HTTP codec's.
public struct WebSocketServerCodec: Codec {
    public typealias Message = WebSocketMessage
    public typealias Outbound = WebSocketMessage
    public typealias Event = WebSocketEvent

    enum Phase: Equatable {
        case handshake
        /// The upgrade request was reported; the connection's hook decides.
        case awaitingDecision
        case open
        /// A close frame was sent; only the peer's close is awaited.
        case closing
    }

    private(set) var phase = Phase.handshake
    /// Reads the upgrade request; made for the handshake and dropped once the request is read, so an
    /// open connection carries no HTTP parser (idle WebSocket memory: a parser inline is a few hundred
    /// bytes per connection, a fifth of the whole).
    private var handshakeReader: HandshakeReader?
    private var reader = WebSocketFrameReader(expectMasked: true)
    /// Frames sent before the handshake completed, at most `maxSendBufferSize` (see `encode`).
    private var held = ByteBuffer()
    private var events = WebSocketEventQueue()
    private var key = ""

    /// The upgrade request, once received.
    public private(set) var request: HTTPRequest?
    /// Headers added to the 101 response (Workerman's `$connection->headers`), e.g.
    /// `[("Sec-WebSocket-Protocol", "chat")]`.
    public var responseHeaders: [(String, String)] = []
    /// Whether the handshake completed and messages flow.
    public var isOpen: Bool { phase == .open }
    /// permessage-deflate (RFC 7692) to accept when the client offers it; nil (the default) never
    /// compresses. See `PermessageDeflateOptions` for the costs.
    ///
    /// ```swift
    /// server.makeCodec = {
    ///     var codec = WebSocketServerCodec()
    ///     codec.permessageDeflate = PermessageDeflateOptions()
    ///     return codec
    /// }
    /// ```
    public var permessageDeflate: PermessageDeflateOptions?
    /// Whether permessage-deflate was agreed for this connection (known once the upgrade request is read).
    public var isCompressed: Bool { reader.compression != nil }
    /// The `Sec-WebSocket-Extensions` answer for the 101, when compression was agreed.
    private var extensionsResponse: String?

    public init() {}

    /// A codec for a connection whose upgrade `request` was answered already (an HTTP route's upgrade,
    /// with `responseHeaders` in its 101): open from the first byte.
    init(upgradedFrom request: HTTPRequest, responseHeaders: [(String, String)], permessageDeflate: PermessageDeflateOptions? = nil) {
        self.request = request
        self.responseHeaders = responseHeaders
        self.permessageDeflate = permessageDeflate
        key = request.header("Sec-WebSocket-Key") ?? ""
        phase = .open
        negotiateCompression(request)
    }

    /// The headers of the 101: the user's, and the agreed extension.
    var acceptHeaders: [(String, String)] {
        guard let extensionsResponse else { return responseHeaders }
        return responseHeaders + [("Sec-WebSocket-Extensions", extensionsResponse)]
    }

    /// Accepts the client's first acceptable permessage-deflate offer, if compression is enabled and zlib
    /// is loaded. An offer we cannot accept is declined (no answer), never refused with an error (§5.1).
    private mutating func negotiateCompression(_ request: HTTPRequest) {
        guard let options = permessageDeflate, options.isUsable else { return }
        let offers = request.headers.values(for: "Sec-WebSocket-Extensions")
        guard !offers.isEmpty, let (agreement, response) = PermessageDeflateNegotiation.accept(offers: offers, options: options),
            let compression = PermessageDeflate(agreement, isServer: true, options: options)
        else { return }
        reader.compression = compression
        extensionsResponse = response
    }

    // MARK: - Input

    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        switch phase {
        case .handshake:
            return handshakeInput(bytes, &context)
        case .awaitingDecision:
            context.pauseRequested = true
            return .needMore
        case .open, .closing:
            return frameInput(bytes, &context)
        }
    }

    private mutating func handshakeInput(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        let reader: HandshakeReader
        if let handshakeReader {
            reader = handshakeReader
        } else {
            reader = HandshakeReader()
            handshakeReader = reader
        }
        let decision = reader.http.input(bytes, &context)
        guard case .message(let length) = decision else { return decision }
        handshakeReader = nil  // one request is all a handshake reads
        guard length <= bytes.count else {
            return refuse(WebSocketHandshake.Refusal(status: 400, reason: "a WebSocket upgrade has no body"), &context)
        }
        let parsed: HTTPRequest?
        do {
            parsed = try reader.http.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), &context)
        } catch {
            return .reject(error)
        }
        guard let parsed else { return .consumed(length: length) }
        if let refusal = WebSocketHandshake.validate(parsed) { return refuse(refusal, &context) }
        request = parsed
        key = parsed.header("Sec-WebSocket-Key") ?? ""
        if permessageDeflate != nil { negotiateCompression(parsed) }
        if context.wantsEvents {
            phase = .awaitingDecision
            events.report(.handshake(parsed), &context)
            context.pauseRequested = true
        } else {
            context.reply(acceptHandshake())
        }
        return .consumed(length: length)
    }

    private mutating func refuse(_ refusal: WebSocketHandshake.Refusal, _ context: inout CodecContext) -> InputDecision {
        context.reply(WebSocketHandshake.refusalResponse(refusal))
        return .reject(CodecRejection(refusal.reason, code: refusal.status))
    }

    /// Accepts the upgrade: returns the 101 answer followed by any messages held until now. The
    /// connection sends it (see `TCPConnection.acceptWebSocket()`).
    public mutating func acceptHandshake() -> ByteBuffer {
        guard phase == .handshake || phase == .awaitingDecision else { return ByteBuffer() }
        var answer = WebSocketHandshake.acceptResponse(key: key, headers: acceptHeaders)
        answer.append(held)
        held = ByteBuffer()
        phase = .open
        return answer
    }

    /// Refuses the upgrade with `status` (e.g. 403): returns the answer to send before closing.
    public mutating func rejectHandshake(status: Int, reason: String) -> ByteBuffer {
        phase = .closing
        held = ByteBuffer()
        return WebSocketHandshake.refusalResponse(WebSocketHandshake.Refusal(status: status, reason: reason))
    }

    private mutating func frameInput(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        switch reader.input(bytes, maxMessage: context.maxPackageSize) {
        case .needMore:
            return .needMore
        case .message(let length):
            if phase == .closing { return .consumed(length: length) }  // data after our close is ignored
            return .message(length: length)
        case .consumed(let length, let control):
            if let control { handle(control, &context) }
            return .consumed(length: length)
        case .fail(let code, let reason):
            if phase != .closing {
                phase = .closing
                context.reply(Self.closeFrame(code: code, reason: ""))
            }
            return .reject(CodecRejection(reason, code: code))
        }
    }

    private mutating func handle(_ control: WebSocketFrameReader.Control, _ context: inout CodecContext) {
        switch control {
        case .ping(let payload):
            if phase == .open { context.reply(Self.frame(opcode: WebSocketOpcode.pong, payload: payload)) }
            events.report(.ping(payload), &context)
        case .pong(let payload):
            events.report(.pong(payload), &context)
        case .close(let code, let reason):
            if phase == .open {
                // Echo the peer's code (§5.5.1); a close without a code is answered without one.
                let echo = code == WebSocketCloseCode.noStatus ? Self.frame(opcode: WebSocketOpcode.close, payload: ByteBuffer()) : Self.closeFrame(code: code, reason: "")
                context.reply(echo)
            }
            phase = .closing
            events.report(.close(code: code, reason: reason), &context)
            context.closeRequested = true
        }
    }

    public mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection) -> WebSocketMessage? {
        reader.decode(packet)
    }

    public mutating func takeEvent() -> WebSocketEvent? {
        events.take()
    }

    // MARK: - Output

    public mutating func encode(_ message: WebSocketMessage, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        switch phase {
        case .open:
            // Tested without binding the reference: the uncompressed path pays one branch, no retain.
            if reader.compression == nil {
                Self.write(message, into: &buffer)
            } else {
                writeCompressed(message, into: &buffer)
            }
        case .handshake, .awaitingDecision:
            // Workerman's rule for a send buffer: refuse only once what waits already reaches the limit,
            // so one large message is still taken. Unbounded, a client that never finishes its handshake
            // would let a broadcasting server grow this without end.
            if !held.isEmpty && held.readableBytes >= context.maxSendBufferSize {
                context.sendRefused = true
                return
            }
            if reader.compression == nil {
                Self.write(message, into: &held)
            } else {
                writeCompressed(message, into: &held)
            }
        case .closing:
            return
        }
    }

    /// A graceful stop or reload: an open connection gets a close frame with 1001 "going away" (§7.4.1),
    /// and closes when the peer's close answers it, so browsers see a clean 1001 rather than 1006. A
    /// connection still in its handshake just closes once idle.
    public mutating func connectionDraining(_ context: inout CodecContext) -> Bool {
        switch phase {
        case .open:
            var frame = ByteBuffer()
            encodeClose(code: WebSocketCloseCode.goingAway, reason: "", into: &frame)
            context.reply(frame)
            return true
        case .closing:
            return true  // our close is out already; the peer's answer ends it
        case .handshake, .awaitingDecision:
            return false
        }
    }

    /// Appends a close frame and stops sending data (a server-initiated close, §7.1.2).
    public mutating func encodeClose(code: Int, reason: String, into buffer: inout ByteBuffer) {
        guard phase == .open else { return }
        phase = .closing
        buffer.append(Self.closeFrame(code: code, reason: reason))
    }

    static func write(_ message: WebSocketMessage, into buffer: inout ByteBuffer) {
        switch message {
        case .text(var text):
            text.withUTF8 { bytes in
                WebSocketFrameHeader.write(opcode: WebSocketOpcode.text, payloadLength: bytes.count, maskKey: nil, into: &buffer)
                buffer.append(UnsafeRawBufferPointer(bytes))
            }
        case .binary(let bytes):
            WebSocketFrameHeader.write(opcode: WebSocketOpcode.binary, payloadLength: bytes.readableBytes, maskKey: nil, into: &buffer)
            buffer.append(bytes)
        }
    }

    /// A message as one compressed frame (RSV1), or uncompressed when this side does not compress. Kept
    /// out of line so that `encode` stays small on the uncompressed path.
    @inline(never)
    private func writeCompressed(_ message: WebSocketMessage, into buffer: inout ByteBuffer) {
        guard let compression = reader.compression else { return Self.write(message, into: &buffer) }
        let compressed = message.withPayload { payload, opcode in
            compression.compress(payload) { deflated in
                WebSocketFrameHeader.write(opcode: opcode, compressed: true, payloadLength: deflated.count, maskKey: nil, into: &buffer)
                buffer.append(deflated)
            }
        }
        if !compressed { Self.write(message, into: &buffer) }
    }

    static func frame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer(capacity: payload.readableBytes + 2)
        WebSocketFrameHeader.write(opcode: opcode, payloadLength: payload.readableBytes, maskKey: nil, into: &buffer)
        buffer.append(payload)
        return buffer
    }

    static func closeFrame(code: Int, reason: String) -> ByteBuffer {
        frame(opcode: WebSocketOpcode.close, payload: WebSocketClosePayload.make(code: code, reason: reason))
    }
}

/// The HTTP codec a WebSocket handshake reads its request with, boxed so it can be dropped.
private final class HandshakeReader {
    var http = HTTPServerCodec()
}
