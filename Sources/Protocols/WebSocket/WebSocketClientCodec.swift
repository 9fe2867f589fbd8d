import WorkermanTransport

/// The WebSocket client codec (`ws://` with `TCPClient`): sends the upgrade request when the TCP
/// connection is up, checks the server's `Sec-WebSocket-Accept`, then speaks frames. Unlike Workerman's
/// client, every frame is masked with a fresh random key (RFC 6455 §5.3).
///
/// ```swift
/// let client = try TCPClient<WebSocketClientCodec>(loop: loop, url: "ws://127.0.0.1:2346/chat")
/// client.codec.headers = [("Authorization", "Bearer …")]
/// client.onMessage = { client, message in print(message) }
/// client.connect()
/// client.send("hello")   // held until the handshake completes
/// ```
///
/// With `permessageDeflate` set, the client offers compression (RFC 7692) and uses it if the server
/// agrees; an answer it did not ask for, or a malformed one, fails the connection (§5.2).
public struct WebSocketClientCodec: Codec {
    public typealias Message = WebSocketMessage
    public typealias Outbound = WebSocketMessage
    public typealias Event = WebSocketEvent

    enum Phase: Equatable {
        case idle
        case handshake
        case open
        case closing
    }

    /// Extra request headers (Workerman's `$connection->headers`).
    public var headers: [(String, String)] = []
    /// Sub-protocols to offer (`Sec-WebSocket-Protocol`).
    public var protocols: [String] = []
    /// An `Origin` header, for servers that check it.
    public var origin: String?
    /// The largest handshake response head accepted.
    public var maxResponseHead = 16 * 1024
    /// permessage-deflate (RFC 7692) to offer; nil (the default) offers nothing.
    ///
    /// ```swift
    /// var codec = WebSocketClientCodec()
    /// codec.permessageDeflate = PermessageDeflateOptions()
    /// let client = try TCPClient(loop: loop, url: "ws://127.0.0.1:2346/", codec: codec)
    /// ```
    public var permessageDeflate: PermessageDeflateOptions?
    /// Whether the server agreed to permessage-deflate on this connection.
    public var isCompressed: Bool { reader.compression != nil }

    /// The sub-protocol the server chose.
    public private(set) var selectedProtocol: String?
    private(set) var phase = Phase.idle
    private var key = ""
    private var reader = WebSocketFrameReader(expectMasked: false)
    /// Frames sent before the handshake completed. A box: `TCPClient` restores a copy of the codec
    /// taken at the first `connect()` on every reconnect, and that copy must not bring back (and send
    /// again) frames the first connection already delivered.
    private let held = HeldFrames()
    private var events = WebSocketEventQueue()
    private var random = MaskKeyGenerator()
    private var scanned = 0
    /// This side sent the first close frame (`encodeClose`): after the server's answer, the server closes
    /// the TCP connection, not us (§7.1.1).
    private var sentCloseFirst = false

    public init() {}

    public var isOpen: Bool { phase == .open }

    // MARK: - Handshake

    public mutating func connectionEstablished(_ context: inout CodecContext) {
        let endpoint = context.endpoint
        var nonce = [UInt8](repeating: 0, count: 16)
        for index in nonce.indices { nonce[index] = UInt8.random(in: 0...255) }
        key = Base64.encode(nonce)
        phase = .handshake
        scanned = 0
        sentCloseFirst = false
        reader = WebSocketFrameReader(expectMasked: false)
        // Fresh keys for every connection: a reconnect starts from a copy of the first codec, whose
        // generator would otherwise repeat the first connection's keys.
        random = MaskKeyGenerator()
        var request = ByteBuffer(capacity: 512)
        let target = endpoint?.target ?? "/"
        var host = endpoint?.authority ?? "localhost"
        if let endpoint, endpoint.port == 80 { host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host }
        request.append("GET \(target) HTTP/1.1\r\n")
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { request.append("Host: \(host)\r\n") }
        request.append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \(key)\r\n")
        if let origin { request.append("Origin: \(origin)\r\n") }
        if !protocols.isEmpty { request.append("Sec-WebSocket-Protocol: \(protocols.joined(separator: ", "))\r\n") }
        if let options = offeredCompression {
            request.append("Sec-WebSocket-Extensions: \(PermessageDeflateNegotiation.offer(options))\r\n")
        }
        for (name, value) in headers { request.append("\(name): \(value)\r\n") }
        request.append("\r\n")
        context.reply(request)
    }

    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        switch phase {
        case .idle:
            return .reject(CodecRejection("data before the upgrade request was sent"))
        case .handshake:
            return handshakeInput(bytes, &context)
        case .open, .closing:
            return frameInput(bytes, &context)
        }
    }

    private mutating func handshakeInput(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        // Find the end of the response head, scanning each byte once across calls.
        var end: Int?
        var index = max(0, scanned - 3)
        while index + 3 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                end = index + 4
                break
            }
            index += 1
        }
        guard let end else {
            scanned = bytes.count
            if bytes.count > maxResponseHead { return .reject(CodecRejection("handshake response head too large")) }
            return .needMore
        }
        let head = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 101") else {
            return .reject(CodecRejection("upgrade refused: \(lines.first ?? "no status line")"))
        }
        var fields: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .reject(CodecRejection("malformed handshake response header")) }
            fields.append((line[..<colon].lowercased(), String(line[line.index(after: colon)...]).trimmingASCIIWhitespace()))
        }
        func value(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
        guard value("upgrade")?.lowercased() == "websocket" else { return .reject(CodecRejection("response lacks Upgrade: websocket")) }
        guard value("connection")?.lowercased().contains("upgrade") == true else {
            return .reject(CodecRejection("response lacks Connection: Upgrade"))
        }
        guard value("sec-websocket-accept") == WebSocketHandshake.acceptValue(for: key) else {
            return .reject(CodecRejection("wrong Sec-WebSocket-Accept"))
        }
        selectedProtocol = value("sec-websocket-protocol")
        if let refusal = acceptCompression(fields.filter { $0.0 == "sec-websocket-extensions" }.map(\.1)) {
            return .reject(CodecRejection(refusal))
        }
        phase = .open
        if !held.bytes.isEmpty {
            context.reply(held.bytes)
            held.bytes = ByteBuffer()
        }
        events.report(.handshake(nil), &context)
        return .consumed(length: end)
    }

    /// Compression is offered when enabled and zlib is loaded.
    private var offeredCompression: PermessageDeflateOptions? {
        guard let options = permessageDeflate, options.isUsable else { return nil }
        return options
    }

    /// Takes the server's `Sec-WebSocket-Extensions` answer; returns why it fails the connection, if it does.
    private mutating func acceptCompression(_ answers: [String]) -> String? {
        guard let options = offeredCompression else {
            let answered = answers.flatMap(PermessageDeflateNegotiation.extensions)
            return answered.isEmpty ? nil : "the server answered extensions that were not offered"
        }
        switch PermessageDeflateNegotiation.checkResponse(answers, options: options) {
        case .failure(let error):
            return error.reason
        case .success(nil):
            return nil
        case .success(let agreement?):
            guard let compression = PermessageDeflate(agreement, isServer: false, options: options) else {
                return "zlib refused the agreed permessage-deflate parameters"
            }
            reader.compression = compression
            return nil
        }
    }

    private mutating func frameInput(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        switch reader.input(bytes, maxMessage: context.maxPackageSize) {
        case .needMore:
            return .needMore
        case .message(let length):
            return phase == .closing ? .consumed(length: length) : .message(length: length)
        case .consumed(let length, let control):
            switch control {
            case .ping(let payload)?:
                if phase == .open { encodeControl(opcode: WebSocketOpcode.pong, payload: payload, into: &context) }
                events.report(.ping(payload), &context)
            case .pong(let payload)?:
                events.report(.pong(payload), &context)
            case .close(let code, let reason)?:
                if phase == .open {
                    var payload = ByteBuffer()
                    if code != WebSocketCloseCode.noStatus {
                        payload.append(UInt8(code >> 8))
                        payload.append(UInt8(code & 0xFF))
                    }
                    encodeControl(opcode: WebSocketOpcode.close, payload: payload, into: &context)
                }
                phase = .closing
                events.report(.close(code: code, reason: reason), &context)
                // Answering the server's close, we close at once (as the peer that just echoed may); after
                // our own close, §7.1.1 lets the server close TCP first, so it keeps the TIME_WAIT
                // (`closeWebSocket` bounds that wait).
                if !sentCloseFirst { context.closeRequested = true }
            case nil:
                break
            }
            return .consumed(length: length)
        case .fail(let code, let reason):
            if phase == .open {
                var payload = ByteBuffer()
                payload.append(UInt8(code >> 8))
                payload.append(UInt8(code & 0xFF))
                encodeControl(opcode: WebSocketOpcode.close, payload: payload, into: &context)
                phase = .closing
            }
            return .reject(CodecRejection(reason, code: code))
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
        case .open: writeMasked(message, into: &buffer)
        case .idle, .handshake:
            // Bounded as the server codec bounds what it holds (see `WebSocketServerCodec.encode`).
            if !held.bytes.isEmpty && held.bytes.readableBytes >= context.maxSendBufferSize {
                context.sendRefused = true
                return
            }
            writeMasked(message, into: &held.bytes)
        case .closing: return
        }
    }

    /// Appends a masked close frame with `code` and `reason` and stops sending data (a client-initiated
    /// close, §7.1.1); the server's close is then awaited, and the server closes the TCP connection.
    public mutating func encodeClose(code: Int, reason: String, into buffer: inout ByteBuffer) {
        guard phase == .open else { return }
        phase = .closing
        sentCloseFirst = true
        let payload = WebSocketClosePayload.make(code: code, reason: reason)
        encodeControl(opcode: WebSocketOpcode.close, payload: payload, into: &buffer)
    }

    mutating func encodeControl(opcode: UInt8, payload: ByteBuffer, into buffer: inout ByteBuffer) {
        let key = random.next()
        WebSocketFrameHeader.write(opcode: opcode, payloadLength: payload.readableBytes, maskKey: key, into: &buffer)
        appendMasked(payload, key: key, into: &buffer)
    }

    private mutating func encodeControl(opcode: UInt8, payload: ByteBuffer, into context: inout CodecContext) {
        var frame = ByteBuffer()
        encodeControl(opcode: opcode, payload: payload, into: &frame)
        context.reply(frame)
    }

    private mutating func writeMasked(_ message: WebSocketMessage, into buffer: inout ByteBuffer) {
        let key = random.next()
        if let compression = reader.compression {
            let compressed = message.withPayload { payload, opcode in
                compression.compress(payload) { deflated in
                    WebSocketFrameHeader.write(opcode: opcode, compressed: true, payloadLength: deflated.count, maskKey: key, into: &buffer)
                    Self.appendMasked(deflated, key: key, into: &buffer)
                }
            }
            if compressed { return }
        }
        switch message {
        case .text(let text):
            let payload = ByteBuffer(text)
            WebSocketFrameHeader.write(opcode: WebSocketOpcode.text, payloadLength: payload.readableBytes, maskKey: key, into: &buffer)
            appendMasked(payload, key: key, into: &buffer)
        case .binary(let payload):
            WebSocketFrameHeader.write(opcode: WebSocketOpcode.binary, payloadLength: payload.readableBytes, maskKey: key, into: &buffer)
            appendMasked(payload, key: key, into: &buffer)
        }
    }

    private func appendMasked(_ payload: ByteBuffer, key: UInt32, into buffer: inout ByteBuffer) {
        payload.withReadableBytes { Self.appendMasked($0, key: key, into: &buffer) }
    }

    private static func appendMasked(_ payload: UnsafeRawBufferPointer, key: UInt32, into buffer: inout ByteBuffer) {
        let count = payload.count
        guard count > 0 else { return }
        let target = buffer.reserveWritable(count)
        target.copyMemory(from: payload.baseAddress!, byteCount: count)
        WebSocketMask.apply(key: key, to: UnsafeMutableRawBufferPointer(start: target, count: count))
        buffer.commitWritten(count)
    }
}

/// The frames a client codec holds until its handshake completes (see `WebSocketClientCodec.held`).
final class HeldFrames {
    var bytes = ByteBuffer()
}

/// Masking keys: xoshiro256** seeded from the system's random source once per connection, so every frame
/// gets a fresh unpredictable key without a system call per frame.
struct MaskKeyGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next() | 1)
    }

    mutating func next() -> UInt32 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        let key = UInt32(truncatingIfNeeded: result >> 32)
        return key == 0 ? 0x5A5A_5A5A : key  // a zero key would leave the payload unmasked on the wire
    }
}
