/// What a codec's `input` found at the front of the received bytes (Workerman's `input()` made typed:
/// 0 → `needMore`, N → `message(length: N)`, false → `reject`).
public enum InputDecision: Equatable, Sendable {
    /// Not enough bytes to know the length of the next message: wait for more.
    case needMore
    /// The next message is `length` bytes long (the connection waits until they have all arrived, and
    /// rejects a length over `maxPackageSize`).
    case message(length: Int)
    /// The codec used `length` bytes itself (a control frame, a fragment it buffered): drop them and ask
    /// again. Whatever the codec wants to answer goes through `CodecContext.reply`.
    case consumed(length: Int)
    /// The stream is invalid: the connection sends what the codec queued with `reply` (an HTTP 400, a
    /// WebSocket close frame), counts a `packet_err`, and closes.
    case reject(CodecRejection)
}

/// Why a codec refused the stream, for the log, `onError` and `status`.
public struct CodecRejection: Error, Equatable, Sendable, CustomStringConvertible {
    /// A short stable reason, e.g. `header too large`.
    public let reason: String
    /// A status the protocol speaks (an HTTP status, a WebSocket close code), if any.
    public let code: Int?

    public init(_ reason: String, code: Int? = nil) {
        self.reason = reason
        self.code = code
    }

    public var description: String { code.map { "\(reason) (\($0))" } ?? reason }
}

/// The side effects a codec may ask of its connection, collected during one call and carried out by the
/// connection after it (a codec never touches a socket).
public struct CodecContext {
    /// The largest message the connection accepts (`maxPackageSize`).
    public var maxPackageSize: Int
    /// True on the client side of a connection (`TCPClient`).
    public let isClient: Bool
    /// The address a client connection was made to (its host, port and path), for codecs that need it
    /// (a WebSocket client's `Host` and request target).
    public internal(set) var endpoint: Endpoint? {
        get { endpointReference?.endpoint }
        set { endpointReference = newValue.map(EndpointReference.init) }
    }
    /// Boxed, so a context holds only plain values and two references: it is made and dropped for every
    /// codec call, and an inline `Endpoint` (strings) made each drop an outlined value-witness call.
    private var endpointReference: EndpointReference?
    /// Bytes to send to the peer as they are, before anything else is processed (a handshake answer, a
    /// pong, an error response).
    public private(set) var replies = ByteBuffer()
    /// Close the connection once `replies` are written.
    public var closeRequested = false
    /// Ask the connection to stop reading until `resumeRequested` (a codec waiting on its own output).
    public var pauseRequested = false
    /// The codec has an event for the connection's `onCodecEvent` (take it with `takeEvent()`).
    public private(set) var eventPending = false
    /// Whether the connection has an `onCodecEvent` hook: a codec may then leave a decision to it (a
    /// WebSocket handshake waits for `onWebSocketConnect`), and otherwise decides alone.
    public internal(set) var wantsEvents = false

    /// Clears what the last call asked (replies are taken by then) and takes the connection's settings.
    @usableFromInline
    mutating func renew(maxPackageSize: Int, isDraining: Bool, wantsEvents: Bool) {
        replies.clear()
        closeRequested = false
        pauseRequested = false
        eventPending = false
        sendRefused = false
        self.maxPackageSize = maxPackageSize
        self.isDraining = isDraining
        self.wantsEvents = wantsEvents
    }

    /// Tells the connection that `takeEvent()` has something.
    public mutating func announceEvent() { eventPending = true }

    /// The connection will close once idle (graceful stop or reload): a codec that can say so to the peer
    /// does (HTTP answers `Connection: close`).
    public internal(set) var isDraining = false

    /// The connection's `maxSendBufferSize`, set for `encode` (unbounded elsewhere): a codec that holds
    /// output back (a WebSocket before its handshake) bounds what it holds by it.
    public var maxSendBufferSize = Int.max
    /// Set by `encode` to refuse the message, as a full send buffer refuses one: `send` returns `.failed`,
    /// and `onError` gets `.sendFailed` (counted as `send_fail`).
    public var sendRefused = false

    public init(maxPackageSize: Int, isClient: Bool = false) {
        self.maxPackageSize = maxPackageSize
        self.isClient = isClient
    }


    /// Queues bytes for the peer.
    public mutating func reply(_ bytes: UnsafeRawBufferPointer) { replies.append(bytes) }
    public mutating func reply(_ bytes: ByteBuffer) { replies.append(bytes) }
    public mutating func reply(_ text: String) { replies.append(text) }

    /// Whether the last call asked for anything.
    @inline(__always)
    public var hasEffects: Bool { !replies.isEmpty || closeRequested || pauseRequested || eventPending }

    /// Takes the queued replies, leaving the context empty.
    public mutating func takeReplies() -> ByteBuffer {
        defer { replies.clear() }
        return replies
    }
}

/// A protocol codec: sans-I/O framing, decoding and encoding, one instance per connection (so it may keep
/// per-connection state, such as a WebSocket's handshake or fragments).
///
/// The connection drives it: after each read it calls `input` on the unprocessed bytes until it answers
/// `needMore`; for `message(length:)` it waits for that many bytes, then calls `decode` on exactly them and
/// hands the result to `onMessage`. `send` calls `encode`.
///
/// ```swift
/// struct LineCodec: Codec {
///     init() {}
///     mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
///         guard let newline = bytes.firstIndex(of: 10) else { return .needMore }
///         return .message(length: newline + 1)
///     }
///     mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws -> String? {
///         String(decoding: packet.dropLast(), as: UTF8.self)
///     }
///     mutating func encode(_ message: String, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
///         buffer.append(message + "\n")
///     }
/// }
/// ```
public protocol Codec {
    /// What `onMessage` receives.
    associatedtype Message
    /// What `send` takes.
    associatedtype Outbound = Message
    /// What the codec reports besides messages (a WebSocket handshake, a ping, a close), handed to the
    /// connection's `onCodecEvent`. `Never` for codecs with nothing to report.
    associatedtype Event = Never

    /// A fresh codec for a new connection.
    init()

    /// Finds the length of the first message in `bytes` (the unprocessed received bytes, possibly more
    /// than one message, possibly less than one).
    mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision

    /// Turns exactly one message's bytes into a message; nil drops it (Workerman's `decode` returning
    /// false). Throwing rejects the stream like `input`'s `.reject`.
    mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection) -> Message?

    /// Appends the wire form of `message` to `buffer`. Appending nothing means "nothing to send now"
    /// (a codec that parks output until a handshake completes).
    mutating func encode(_ message: Outbound, into buffer: inout ByteBuffer, _ context: inout CodecContext)

    /// Called once when a client connection is established (a WebSocket client sends its upgrade request
    /// here through `context.reply`). Default: nothing.
    mutating func connectionEstablished(_ context: inout CodecContext)

    /// Called once when a server accepts the connection, with the peer's address (an HTTP codec stamps it
    /// on each request). Default: nothing.
    mutating func connectionAccepted(remoteAddress: SocketAddress?)

    /// Takes the next event announced with `context.announceEvent()`; nil when none is left. The
    /// connection calls it after the codec call returns, so the event's handler may use the connection.
    mutating func takeEvent() -> Event?

    /// Called once when the connection starts draining for a graceful stop or reload
    /// (`closeWhenIdle`). A codec that can say goodbye to its peer does, through `context.reply`, and
    /// answers true when it then closes the connection itself once the peer answers (a WebSocket's
    /// closing handshake, 1001 "going away"); the stop's timeout still bounds the wait. Default: nothing,
    /// and false: the connection closes as soon as it is idle.
    mutating func connectionDraining(_ context: inout CodecContext) -> Bool

    /// Runs `connection`'s codec driver over `bytes`; returns how many bytes were used. Not for codecs
    /// to implement: the default is inlinable, so it is compiled where a codec declares its conformance,
    /// and there the receive loop is specialized for that codec (no value-witness calls per message).
    static func runDriver(over bytes: UnsafeRawBufferPointer, on connection: TCPConnection<Self>) -> Int

    /// Hands `message` to `connection`'s `onMessageAsync` (see `ConnectionTasks`). Not for codecs to
    /// implement: the default is inlinable, for the same reason as `runDriver`'s (the async path compiled
    /// for the codec, with no metadata lookups or value-witness calls per message).
    static func submitAsync(_ message: Message, on connection: TCPConnection<Self>)

    /// Runs `connection`'s `onConnectAsync` in its task. Not for codecs to implement.
    static func submitAsyncConnect(on connection: TCPConnection<Self>)
}

extension Codec {
    @inlinable
    public static func runDriver(over bytes: UnsafeRawBufferPointer, on connection: TCPConnection<Self>) -> Int {
        connection.driveCodec(over: bytes)
    }

    @inlinable
    public static func submitAsync(_ message: Message, on connection: TCPConnection<Self>) {
        ConnectionTasks.of(connection).submit(.message(message))
    }

    @inlinable
    public static func submitAsyncConnect(on connection: TCPConnection<Self>) {
        ConnectionTasks.of(connection).submit(.connect)
    }

    public mutating func connectionEstablished(_ context: inout CodecContext) {}
    public mutating func connectionAccepted(remoteAddress: SocketAddress?) {}
    public mutating func connectionDraining(_ context: inout CodecContext) -> Bool { false }
}

extension Codec where Event == Never {
    public mutating func takeEvent() -> Never? { nil }
}

/// No framing: every read is delivered as it came, as a `ByteBuffer` (Workerman's `tcp://` with no
/// protocol). Read boundaries are arbitrary; framing is the application's business.
public struct RawCodec: Codec {
    public typealias Message = ByteBuffer

    public init() {}

    @inline(__always)
    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        bytes.isEmpty ? .needMore : .message(length: bytes.count)
    }

    @inline(__always)
    public mutating func decode(
        _ packet: UnsafeRawBufferPointer,
        _ context: inout CodecContext
    ) throws(CodecRejection) -> ByteBuffer? {
        ByteBuffer(packet)
    }

    @inline(__always)
    public mutating func encode(_ message: ByteBuffer, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        buffer.append(message)
    }
}

/// A client connection's endpoint, shared by the contexts that carry it.
private final class EndpointReference {
    let endpoint: Endpoint
    init(_ endpoint: Endpoint) { self.endpoint = endpoint }
}
