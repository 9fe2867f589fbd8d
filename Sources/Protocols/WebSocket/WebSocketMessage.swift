import WorkermanTransport

/// A WebSocket data message: what `onMessage` receives and `send` takes.
///
/// It reads as its text, so `connection.send("hello \(message)")` works for text messages; binary
/// messages print as `<N bytes>`.
public enum WebSocketMessage: Equatable, Sendable {
    case text(String)
    case binary(ByteBuffer)

    /// The text, or the bytes decoded as UTF-8 (repaired) for a binary message.
    public var text: String {
        switch self {
        case .text(let text): return text
        case .binary(let bytes): return bytes.string
        }
    }

    /// The payload bytes.
    public var bytes: ByteBuffer {
        switch self {
        case .text(let text): return ByteBuffer(text)
        case .binary(let bytes): return bytes
        }
    }

    public var isText: Bool { if case .text = self { true } else { false } }

    /// Calls `body` with the payload's bytes and the message's opcode, without copying text.
    func withPayload<R>(_ body: (UnsafeRawBufferPointer, UInt8) -> R) -> R {
        switch self {
        case .text(var text):
            return text.withUTF8 { body(UnsafeRawBufferPointer($0), WebSocketOpcode.text) }
        case .binary(let bytes):
            return bytes.withReadableBytes { body($0, WebSocketOpcode.binary) }
        }
    }
}

extension WebSocketMessage: CustomStringConvertible {
    public var description: String {
        switch self {
        case .text(let text): return text
        case .binary(let bytes): return "<\(bytes.readableBytes) bytes>"
        }
    }
}

extension WebSocketMessage: ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(stringInterpolation: DefaultStringInterpolation) { self = .text(String(stringInterpolation: stringInterpolation)) }
}

/// What a WebSocket codec reports besides data messages, through the connection's `onCodecEvent`.
public enum WebSocketEvent: Sendable {
    /// Server side: a valid upgrade request waits for `onWebSocketConnect` to accept or reject it.
    /// Client side: the server accepted the upgrade (the request is then the server's response head).
    case handshake(HTTPRequest?)
    case ping(ByteBuffer)
    case pong(ByteBuffer)
    /// The peer's close frame (code 1005 when it had none).
    case close(code: Int, reason: String)
}

/// The events a codec holds until the connection takes them, in order. Both codecs keep one, so the rule
/// "only when the connection asked for events" lives in one place.
struct WebSocketEventQueue {
    private var events: [WebSocketEvent] = []

    /// Holds `event` and tells the connection, when it listens for events; otherwise drops it.
    mutating func report(_ event: WebSocketEvent, _ context: inout CodecContext) {
        guard context.wantsEvents else { return }
        events.append(event)
        context.announceEvent()
    }

    /// The oldest event not yet taken.
    mutating func take() -> WebSocketEvent? {
        events.isEmpty ? nil : events.removeFirst()
    }
}

/// RFC 6455 §7.4 status codes used here.
public enum WebSocketCloseCode {
    public static let normal = 1000
    public static let goingAway = 1001
    public static let protocolError = 1002
    public static let unsupportedData = 1003
    public static let noStatus = 1005
    public static let invalidPayload = 1007
    public static let policyViolation = 1008
    public static let messageTooBig = 1009
    public static let internalError = 1011

    /// Whether `code` may appear in a close frame (§7.4.1 and the IANA registry, as Autobahn checks).
    static func isValidOnTheWire(_ code: Int) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }
}
