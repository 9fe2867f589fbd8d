import WorkermanTransport

/// The HTTP/1.1 server codec (`http://`): requests in, responses out, strict where RFC 9112 is strict.
///
/// **Input.** `input` measures the next request (head, then a `Content-Length` or chunked body) with an
/// incremental parser that looks at each byte once however the bytes are split into reads. Pipelined
/// requests come out one message each, in order. Invalid requests are answered and the connection
/// closed: bad syntax, ambiguous framing (`Content-Length` with `Transfer-Encoding`, differing
/// `Content-Length`s, obs-fold, bare CR or LF, whitespace before a colon) → 400; a head over
/// `maxHeaderSize` → 431; a body over `maxPackageSize` → 413; an unknown method or transfer coding →
/// 501; `HTTP/2.0` and up → 505; an `Expect` other than `100-continue` → 417. `Expect: 100-continue`
/// gets `HTTP/1.1 100 Continue` before the body is read.
///
/// **Output.** `encode` writes responses in Workerman 5's format (see `HTTPResponse`) and closes the
/// connection after the response to a request that did not want keep-alive (HTTP/1.0 without
/// `Connection: keep-alive`, or `Connection: close`), or whose response says `Connection: close`.
/// How: each decoded request leaves an entry in a queue (keep-alive, HEAD); each final response takes
/// the oldest entry, so pipelined requests are answered in order with the right connection handling,
/// and the response that must be the last sets `context.closeRequested`. After a request that asked to
/// close, later bytes are discarded unanswered (RFC 9112 §9.6: no further requests are processed).
///
/// ```swift
/// var codec = HTTPServerCodec()
/// var context = CodecContext(maxPackageSize: 10 << 20)
/// // connection: input → .message(length:) → decode → onMessage → send → encode
/// ```
public struct HTTPServerCodec: Codec {
    public typealias Message = HTTPRequest
    public typealias Outbound = HTTPOutbound

    /// The configuration; set it before the first byte arrives.
    public var configuration: HTTPServerConfiguration {
        didSet {
            options = HTTPEncodingOptions(configuration)
            methods = HTTPMethodFilter(configuration.allowedMethods)
        }
    }

    private var options: HTTPEncodingOptions
    /// `configuration.allowedMethods` made into a mask once, not searched per request.
    private var methods: HTTPMethodFilter
    private var parser = HTTPRequestParser()
    private var pending = PendingResponses()
    /// A request asked to close: everything after it is dropped.
    private var draining = false
    /// What the current streaming response expects next.
    private var stream = Stream.none

    private enum Stream: Equatable {
        case none
        /// Chunks are framed; the body ends with `HTTPChunk.end`.
        case chunked(closeAtEnd: Bool)
        /// Chunk data is sent as it is (HTTP/1.0); the connection closes after the last chunk.
        case unframed
        /// Events follow until the application closes the connection.
        case events
        /// The response answered a HEAD: what the stream sends is dropped.
        case omitted(closeAtEnd: Bool)
    }

    public init() {
        self.init(configuration: HTTPServerConfiguration())
    }

    public init(configuration: HTTPServerConfiguration) {
        self.configuration = configuration
        self.options = HTTPEncodingOptions(configuration)
        self.methods = HTTPMethodFilter(configuration.allowedMethods)
    }

    // MARK: - State for the connection

    /// True between requests: nothing of a next request has arrived (an idle keep-alive connection).
    public var isIdle: Bool { parser.isIdle }

    /// True while a request's head is arriving; a connection enforcing a header timeout (slowloris)
    /// arms it while this holds.
    public var isReceivingHead: Bool { parser.isReceivingHead }

    /// The peer, stamped on every request (set when the server accepts the connection).
    private var remoteAddress: SocketAddress?
    /// What every request of this connection shares (its address), made with the first request.
    private var shared: HTTPRequest.Extras?

    public mutating func connectionAccepted(remoteAddress: SocketAddress?) {
        self.remoteAddress = remoteAddress
        shared = nil
    }

    /// How many decoded requests still wait for their response.
    public var unansweredRequests: Int { pending.count }

    /// Whether a streaming response (chunked, unframed or events) was started and not ended.
    public var isStreamingResponse: Bool { stream != .none }

    /// Gives up the newest request unanswered (a WebSocket upgrade pipelined behind requests still
    /// waiting for their responses): those responses are sent, the last one with `Connection: close`,
    /// then the connection closes, and nothing received after the request is processed. RFC 9112
    /// §9.3.2 lets a client retry an unanswered request on a new connection.
    mutating func abandonNewestRequest() {
        pending.abandonNewest()
        draining = true
    }

    // MARK: - Input

    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        if draining { return bytes.isEmpty ? .needMore : .consumed(length: bytes.count) }
        let limits = HTTPParserLimits(
            maxHeaderSize: configuration.maxHeaderSize,
            maxHeaderCount: configuration.maxHeaderCount,
            maxPackageSize: context.maxPackageSize,
            methods: methods
        )
        let step = parser.parse(bytes, limits: limits)
        if parser.takeContinueRequest() {
            context.reply(
                UnsafeRawBufferPointer(start: Self.continueLine.utf8Start, count: Self.continueLine.utf8CodeUnitCount)
            )
        }
        switch step {
        case .needMore:
            return .needMore
        case .skip(let count):
            return .consumed(length: count)
        case .complete(let length):
            return .message(length: length)
        case .failure(let error):
            var answer = ByteBuffer()
            Self.writeErrorResponse(status: error.status, into: &answer)
            context.reply(answer)
            return .reject(CodecRejection(error.reason, code: error.status))
        }
    }

    private static let continueLine: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"

    /// The answer to a refused request: status line, `Connection: close`, an empty body.
    static func writeErrorResponse(status: Int, into buffer: inout ByteBuffer) {
        HTTPResponse(status: HTTPStatus(code: status)).writeStatusLine(into: &buffer)
        buffer.append(static: "Connection: close\r\nContent-Length: 0\r\n\r\n")
    }

    // MARK: - Decode

    public mutating func decode(
        _ packet: UnsafeRawBufferPointer,
        _ context: inout CodecContext
    ) throws(CodecRejection) -> HTTPRequest? {
        guard parser.state == .complete, parser.messageLength == packet.count else {
            // The connection broke the contract (decode without a matching input): refuse, never guess.
            throw CodecRejection("decode without a measured request", code: 500)
        }
        // Everything the codec keeps is read from the parser, so the request is built once and moved out
        // (reading it back from the request made the optimizer copy the whole value).
        let keepAlive = parser.facts.keepAlive
        let isHead: Bool
        if case .head = parser.method { isHead = true } else { isHead = false }  // no copy of the method
        pending.push(
            PendingResponses.Entry(
                keepAlive: keepAlive,
                isHead: isHead,
                isHTTP10: parser.version.minor == 0
            )
        )
        if !keepAlive { draining = true }
        let extras: HTTPRequest.Extras
        if let shared {
            extras = shared
        } else {
            extras = HTTPRequest.Extras(remoteAddress: remoteAddress)
            shared = extras
        }
        let request = HTTPRequest(packet: packet, parser: parser, shared: extras)
        parser.reset()
        return request
    }

    // MARK: - Encode

    public mutating func encode(_ message: HTTPOutbound, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        switch message {
        case .response(let response):
            encodeResponse(response, into: &buffer, &context)
        case .chunk(let chunk):
            encodeChunk(chunk, into: &buffer, &context)
        case .event(let event):
            switch stream {
            case .chunked: HTTPChunk(event.serialized).write(into: &buffer)
            case .omitted: break
            default: event.write(into: &buffer)
            }
        }
    }

    private mutating func encodeChunk(_ chunk: HTTPChunk, into buffer: inout ByteBuffer, _ context: inout CodecContext)
    {
        var closeAfter = false
        switch stream {
        case .chunked(let closeAtEnd):
            chunk.write(into: &buffer)
            closeAfter = closeAtEnd
        case .unframed:
            chunk.data.write(into: &buffer)
            closeAfter = true
        case .omitted(let closeAtEnd):
            closeAfter = closeAtEnd
        case .events:
            // Inside an event stream a chunk carries raw event text.
            chunk.data.write(into: &buffer)
            return
        case .none:
            // A chunk with no chunked response before it: written as asked (the application's framing).
            chunk.write(into: &buffer)
            return
        }
        if chunk.isLast {
            stream = .none
            if closeAfter { context.closeRequested = true }
        }
    }

    private mutating func encodeResponse(
        _ response: HTTPResponse,
        into buffer: inout ByteBuffer,
        _ context: inout CodecContext
    ) {
        // An interim (1xx but 101) response precedes the final one and does not answer the request.
        let isInterim = response.status.isInformational && response.status.code != 101
        var request = (isInterim ? pending.peek : pending.pop()) ?? .unprompted
        // A draining connection (graceful stop or reload) tells the client and closes after this answer,
        // unless pipelined requests still wait: the last of them carries the close.
        if context.isDraining && pending.count == 0 { request.keepAlive = false }
        let (framing, closes) = response.encode(into: &buffer, for: request, options: options)
        switch framing {
        case .complete:
            stream = .none
            if closes { context.closeRequested = true }
        case .chunked:
            stream = request.isHead ? .omitted(closeAtEnd: closes) : .chunked(closeAtEnd: closes)
        case .unframedStream:
            stream = request.isHead ? .omitted(closeAtEnd: true) : .unframed
        case .eventStream:
            // The stream ends when the application closes the connection; a HEAD gets the head only.
            stream = request.isHead ? .omitted(closeAtEnd: false) : .events
            if request.isHead, closes { context.closeRequested = true }
        case .switchingProtocols, .interim:
            break
        }
    }
}
