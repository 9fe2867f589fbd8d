import WorkermanEventLoop
import WorkermanTransport

/// Produces a streamed request body: called each time the connection can take another piece (the last
/// one has left for the socket), it answers, at once or later, with one `write`, `end` or `fail`.
public typealias HTTPBodyProducer = (HTTPBodyWriter) -> Void

/// The producer's side of a streamed request body. Pieces go out as they come: in chunked framing when
/// the length was not given, otherwise counted against it (a body that ends short or runs long fails the
/// request with `.bodyFailed`, since the server would read it wrongly).
///
/// ```swift
/// var request = try HTTPClientRequest(method: "PUT", url: "http://127.0.0.1:8080/log")
/// request.body = .stream(length: nil) { writer in
///     if let line = lines.next() { writer.write(ByteBuffer(line)) } else { writer.end() }
/// }
/// client.request(request) { print($0) }
/// ```
public final class HTTPBodyWriter {
    private weak var pump: HTTPBodyPump?

    init(pump: HTTPBodyPump) {
        self.pump = pump
    }

    /// Sends `bytes` (an empty piece is ignored, as chunked framing would read it as the end).
    public func write(_ bytes: ByteBuffer) { pump?.write(bytes) }

    /// The body is complete.
    public func end() { pump?.end() }

    /// The body cannot be completed: the request fails with `.bodyFailed` and `reason`.
    public func fail(_ reason: String) { pump?.fail(reason) }
}

@available(*, unavailable, message: "a body writer belongs to its client's loop")
extension HTTPBodyWriter: Sendable {}

/// Feeds one request body from its producer to the connection, a piece at a time: the producer is asked
/// again only once the connection's send queue is empty, so a fast producer cannot fill memory.
final class HTTPBodyPump {
    private let producer: HTTPBodyProducer
    private let length: Int?
    private unowned let connection: Connection
    private let origin: String
    private let failed: (HTTPClientError) -> Void
    private var sent = 0
    private var waiting = false
    private(set) var isEnded = false

    init(producer: @escaping HTTPBodyProducer, length: Int?, connection: Connection, origin: String, failed: @escaping (HTTPClientError) -> Void) {
        self.producer = producer
        self.length = length
        self.connection = connection
        self.origin = origin
        self.failed = failed
    }

    /// Asks the producer for a piece (unless one is awaited, or the body ended).
    func ask() {
        guard !isEnded, !waiting else { return }
        waiting = true
        producer(HTTPBodyWriter(pump: self))
    }

    /// The connection's queue drained: the producer may go on.
    func drained() {
        if !waiting { ask() }
    }

    fileprivate func write(_ bytes: ByteBuffer) {
        guard !isEnded, waiting else { return }
        waiting = false
        guard bytes.readableBytes > 0 else { return next() }
        sent += bytes.readableBytes
        if let length {
            guard sent <= length else { return fail("the producer wrote \(sent) bytes of a body announced as \(length)") }
            _ = connection.sendRaw(bytes)
        } else {
            var framed = ByteBuffer(String(bytes.readableBytes, radix: 16) + "\r\n")
            framed.append(bytes)
            framed.append("\r\n")
            _ = connection.sendRaw(framed)
        }
        next()
    }

    /// Asks again now if the socket took everything (in the next tick, so a producer with everything
    /// at hand does not recurse), or when the queue drains.
    private func next() {
        guard connection.bufferIsEmpty else { return }
        connection.loop.nextTick { [weak self] in self?.drained() }
    }

    fileprivate func end() {
        guard !isEnded else { return }
        if let length, sent != length { return fail("the producer ended after \(sent) bytes of a body announced as \(length)") }
        isEnded = true
        waiting = false
        if length == nil { _ = connection.sendRaw("0\r\n\r\n") }
    }

    fileprivate func fail(_ reason: String) {
        guard !isEnded else { return }
        isEnded = true
        failed(HTTPClientError(.bodyFailed, "\(origin): request body: \(reason)"))
    }
}
