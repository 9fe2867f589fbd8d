// Shared fixtures for the WebSocket tests: frames built by hand (not with the code under test), a parser
// for what a codec wrote, upgrade requests, a codec driver that plays a connection with an
// `onCodecEvent` hook and a loop harness for the socket tests. Child processes (Python, Chromium): WSChild.swift.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

@testable import WorkermanProtocols
@testable import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Frames

enum WS {
    /// RFC 6455 §1.3's sample key and its accept value.
    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    /// RFC 6455 §5.7's masking key.
    static let maskKey: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    static let continuation: UInt8 = 0x0
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA
}

/// How a hand-built frame encodes its payload length.
enum WSLength {
    /// The shortest form (what a correct peer sends).
    case minimal
    /// 126 and a 16-bit length, whatever the size.
    case sixteen
    /// 127 and a 64-bit length, whatever the size.
    case sixtyFour
    /// 127 and this 64-bit value, whatever the payload really is.
    case declared(UInt64)
}

/// A frame as a client (`mask` given) or a server (`mask: nil`) writes it, built by hand so the tests do
/// not depend on `WebSocketFrameHeader.write`.
func wsFrame(
    _ opcode: UInt8,
    _ payload: [UInt8],
    fin: Bool = true,
    mask: [UInt8]? = WS.maskKey,
    rsv: UInt8 = 0,
    length: WSLength = .minimal
) -> [UInt8] {
    var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    let count = payload.count
    func sixtyFourBits(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
    switch length {
    case .minimal where count < 126:
        frame.append(maskBit | UInt8(count))
    case .minimal where count <= 0xFFFF, .sixteen:
        frame += [maskBit | 126, UInt8(count >> 8), UInt8(count & 0xFF)]
    case .minimal, .sixtyFour:
        frame += [maskBit | 127] + sixtyFourBits(UInt64(count))
    case .declared(let value):
        frame += [maskBit | 127] + sixtyFourBits(value)
    }
    guard let mask else { return frame + payload }
    frame += mask
    frame.reserveCapacity(frame.count + count)
    for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index & 3]) }
    return frame
}

func wsFrame(_ opcode: UInt8, _ text: String, fin: Bool = true, mask: [UInt8]? = WS.maskKey) -> [UInt8] {
    wsFrame(opcode, Array(text.utf8), fin: fin, mask: mask)
}

/// A close frame's payload: the code, big-endian, then the reason's bytes.
func wsClosePayload(_ code: Int, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}

/// One frame read back from a codec's output (unmasked).
struct WireFrame: Equatable, CustomStringConvertible {
    var fin: Bool
    var rsv: UInt8
    var opcode: UInt8
    var maskKey: [UInt8]?
    var payload: [UInt8]

    var text: String { String(decoding: payload, as: UTF8.self) }
    /// A close frame's code (nil when it has none).
    var closeCode: Int? { opcode == WS.close && payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil }
    var closeReason: String { String(decoding: payload.dropFirst(2), as: UTF8.self) }

    var description: String {
        "frame(op \(opcode), fin \(fin), \(maskKey == nil ? "unmasked" : "masked"), \(payload.count) bytes)"
    }
}

/// Reads the frames in `bytes`; `rest` counts the bytes of a trailing incomplete frame.
func wsParseFrames(_ bytes: [UInt8]) -> (frames: [WireFrame], rest: Int) {
    var frames: [WireFrame] = []
    var index = 0
    while index + 2 <= bytes.count {
        var length = Int(bytes[index + 1] & 0x7F)
        var header = 2
        if length == 126 {
            guard index + 4 <= bytes.count else { break }
            length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            header = 4
        } else if length == 127 {
            guard index + 10 <= bytes.count else { break }
            length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[index + $1]) }
            header = 10
        }
        let masked = bytes[index + 1] & 0x80 != 0
        let keyLength = masked ? 4 : 0
        guard index + header + keyLength + length <= bytes.count else { break }
        let key = masked ? Array(bytes[(index + header)..<(index + header + 4)]) : nil
        let start = index + header + keyLength
        var payload = Array(bytes[start..<(start + length)])
        if let key { for position in payload.indices { payload[position] ^= key[position & 3] } }
        frames.append(
            WireFrame(
                fin: bytes[index] & 0x80 != 0,
                rsv: (bytes[index] >> 4) & 0x7,
                opcode: bytes[index] & 0x0F,
                maskKey: key,
                payload: payload
            )
        )
        index = start + length
    }
    return (frames, bytes.count - index)
}

/// A server's output: the HTTP head it answered with (if any), then its frames.
func wsSplitResponse(_ output: ByteBuffer) -> (head: String, frames: [WireFrame], rest: Int) {
    let bytes = output.bytes
    var head = ""
    var body = bytes[...]
    if bytes.starts(with: Array("HTTP/".utf8)) {
        let end = (0..<max(0, bytes.count - 3)).first {
            bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
        }
        let cut = end.map { $0 + 4 } ?? bytes.count
        head = String(decoding: bytes[0..<cut], as: UTF8.self)
        body = bytes[cut...]
    }
    let (frames, rest) = wsParseFrames(Array(body))
    return (head, frames, rest)
}

/// The status code of an HTTP head.
func wsStatus(_ head: String) -> Int? {
    guard head.hasPrefix("HTTP/1.1 ") else { return nil }
    return Int(head.dropFirst(9).prefix(3))
}

/// The value of header `name` in an HTTP head (case-insensitive name).
func wsHeader(_ name: String, in head: String) -> String? {
    for line in head.split(separator: "\r\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        if line[..<colon].lowercased() == name.lowercased() {
            return String(line[line.index(after: colon)...]).trimmingCharacters(in: " ")
        }
    }
    return nil
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}

// MARK: - Handshake requests

/// An upgrade request; nil `key` leaves the header out; `extra` lines are added as they are.
func wsUpgradeRequest(
    method: String = "GET",
    target: String = "/chat",
    httpVersion: String = "HTTP/1.1",
    version: String? = "13",
    key: String? = WS.sampleKey,
    extra: [String] = []
) -> [UInt8] {
    var lines = [
        "\(method) \(target) \(httpVersion)", "Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
    ]
    if let key { lines.append("Sec-WebSocket-Key: \(key)") }
    if let version { lines.append("Sec-WebSocket-Version: \(version)") }
    lines += extra
    return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
}

/// A verifier for the server codec; with `echo`, every message is sent back at once.
func wsServerVerifier(maxPackageSize: Int = 1 << 20, echo: Bool = true) -> CodecVerifier<WebSocketServerCodec> {
    CodecVerifier(maxPackageSize: maxPackageSize, respond: echo ? { [$0] } : nil)
}

/// An upgrade request followed by `frames`: what a client sends.
func wsClientStream(_ frames: [UInt8]...) -> [UInt8] {
    wsUpgradeRequest() + frames.flatMap { $0 }
}

/// The splits for long streams (byte by byte over megabytes is too slow unoptimised).
let wsLongSplits: [ReadSplit] = [.whole, .chunks(of: 4096), .chunks(of: 70), .random(seed: 5, maxChunk: 9000)]

// MARK: - A connection with an onCodecEvent hook, played by hand

/// Drives a codec as `TCPConnection` does when it has an `onCodecEvent` hook (`wantsEvents`), so the
/// tests see events, pauses and replies one call at a time.
struct WSCodecDriver<C: Codec> {
    var codec: C
    let maxPackageSize: Int
    let isClient: Bool
    let wantsEvents: Bool
    var endpoint: Endpoint?
    var buffer: [UInt8] = []
    var output = ByteBuffer()
    var messages: [C.Message] = []
    var events: [C.Event] = []
    var paused = false
    var closeRequested = false
    var rejection: CodecRejection?
    /// The connection's `maxSendBufferSize`, which `send` hands the codec.
    var maxSendBufferSize = Int.max
    /// Sends the codec refused (`CodecContext.sendRefused`).
    var refusedSends = 0

    init(_ codec: C, maxPackageSize: Int = 1 << 20, isClient: Bool = false, wantsEvents: Bool = true) {
        self.codec = codec
        self.maxPackageSize = maxPackageSize
        self.isClient = isClient
        self.wantsEvents = wantsEvents
    }

    /// A fresh context, as the connection makes one for every codec call.
    func makeContext() -> CodecContext {
        var context = CodecContext(maxPackageSize: maxPackageSize, isClient: isClient)
        context.wantsEvents = wantsEvents
        context.endpoint = endpoint
        return context
    }

    /// Receives `bytes` and processes what it can (until a pause, a close or a need for more).
    mutating func receive(_ bytes: [UInt8]) {
        buffer += bytes
        process()
    }

    /// Processes buffered bytes (call after resuming).
    mutating func process() {
        while !buffer.isEmpty && !paused && !closeRequested && rejection == nil {
            var context = makeContext()
            let decision = buffer.withUnsafeBytes { codec.input($0, &context) }
            collect(&context)
            switch decision {
            case .needMore:
                return
            case .consumed(let length):
                precondition(length > 0 && length <= buffer.count)
                buffer.removeFirst(length)
            case .message(let length):
                guard length <= buffer.count else { return }
                let packet = Array(buffer[0..<length])
                buffer.removeFirst(length)
                var decodeContext = makeContext()
                let decoded = packet.withUnsafeBytes { bytes in
                    Result { () throws(CodecRejection) -> C.Message? in try codec.decode(bytes, &decodeContext) }
                }
                switch decoded {
                case .success(let message): if let message { messages.append(message) }
                case .failure(let error): rejection = error
                }
                collect(&decodeContext)
            case .reject(let reason):
                rejection = reason
            }
        }
    }

    /// Encodes `message` as `send` does; returns the bytes that went out at once.
    @discardableResult
    mutating func send(_ message: C.Outbound) -> [UInt8] {
        var wire = ByteBuffer()
        var context = makeContext()
        context.maxSendBufferSize = maxSendBufferSize
        codec.encode(message, into: &wire, &context)
        if context.sendRefused { refusedSends += 1 }
        collect(&context)
        output.append(wire)
        return wire.bytes
    }

    /// Calls `connectionEstablished` (a client codec's greeting).
    mutating func establish() {
        var context = makeContext()
        codec.connectionEstablished(&context)
        collect(&context)
    }

    /// Carries out what one call asked for, as `TCPConnection.apply` does.
    mutating func collect(_ context: inout CodecContext) {
        if !context.replies.isEmpty { output.append(context.takeReplies()) }
        if context.eventPending {
            while let event = codec.takeEvent() { events.append(event) }
        }
        if context.pauseRequested { paused = true }
        if context.closeRequested { closeRequested = true }
    }

    /// Takes what was written so far.
    mutating func takeOutput() -> ByteBuffer {
        defer { output = ByteBuffer() }
        return output
    }
}

// MARK: - Loop harness for the socket tests

/// One test's loop (the kit's `LoopHarness` on epoll), failing the test when the guard fires, a callback
/// throws, or something is left open at the end.
final class WSLoop {
    let harness: LoopHarness
    var loop: EventLoop { harness.loop }
    var transport: TransportContext { harness.transport }

    /// - Parameter clock: The loop's clock; a `ManualClock` lets a test move timeouts by hand.
    init(_ backend: BackendKind = .epoll, clock: any LoopClock = MonotonicClock()) throws {
        harness = try LoopHarness(backend: backend, clock: clock)
        loop.errorHandler = { error in Issue.record("loop error: \(error)") }
    }

    /// Runs until `done()` or `timeout` seconds.
    func run(timeout: Double = 15, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let finished = try harness.run(timeout: timeout)
        #expect(finished, "the loop was stopped by the guard timer", sourceLocation: sourceLocation)
    }

    func done() { harness.done() }

    func onTeardown(_ body: @escaping () -> Void) { harness.onTeardown(body) }

    /// A started server on 127.0.0.1, port 0.
    func server<C: Codec>(_ codec: C.Type = C.self, configure: (TCPServer<C>) -> Void = { _ in }) throws -> TCPServer<C> {
        try harness.startServer(codec, configure: configure)
    }

    /// Runs the loop until no connection is open (the far side of a close is still closing), at most
    /// `timeout` seconds.
    func settle(timeout: Double = 3) { harness.settle(within: timeout) }

    /// Every test ends here: nothing left open in the loop (after letting closes finish).
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        let leaks = harness.finishClosingConnections()
        #expect(leaks.isEmpty, "left behind: \(leaks)", sourceLocation: sourceLocation)
    }
}

extension TCPServer {
    var port: Int { listener?.address.port ?? 0 }
}

/// See `TestPattern.bytes`.
func wsPattern(_ count: Int, seed: Int = 0) -> [UInt8] { TestPattern.bytes(count, seed: seed) }

/// See `TestPattern.matches`.
func wsSame(_ actual: [UInt8]?, _ expected: [UInt8]) -> Bool { TestPattern.matches(actual, expected) }
