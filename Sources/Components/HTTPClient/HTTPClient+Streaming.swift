import WorkermanEventLoop
import WorkermanTransport

/// A request in flight. `cancel()` ends it at once with `.cancelled` (on the loop); its connection is
/// closed, since the rest of its answer would be out of step with the next request.
///
/// ```swift
/// let task = client.get("http://127.0.0.1:8080/slow") { print($0) }
/// try loop.addTimer(after: 1) { task.cancel() }
/// ```
public final class HTTPClientTask {
    private unowned let loop: EventLoop
    /// The exchange now under way (a redirect replaces it).
    var exchange: HTTPExchange?
    public private(set) var isCancelled = false

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Ends the request with `.cancelled` (nothing happens once it completed).
    public func cancel() {
        loop.preconditionOnLoop("HTTPClientTask.cancel")
        guard !isCancelled else { return }
        isCancelled = true
        guard let exchange, !exchange.isDone else { return }
        let connection = exchange.connection
        exchange.complete(.failure(HTTPClientError(.cancelled, "\(exchange.request.url.origin): cancelled")), on: loop)
        connection?.close()
    }
}

@available(*, unavailable, message: "a request task belongs to its client's loop")
extension HTTPClientTask: Sendable {}

/// Where a streamed response goes: its head once, then its body piece by piece. After each piece the
/// connection stops reading until `more` is called, so a slow consumer holds the server back (its send
/// buffer fills) instead of filling this process's memory.
struct HTTPResponseSink {
    let onHead: (HTTPClientResponse) -> Void
    let onBody: (ByteBuffer, _ more: @escaping () -> Void) -> Void
}

extension HTTPClient {
    /// Sends `request` and hands the response over as it arrives: `onHead` with the status and headers
    /// (an empty body), then `onBody` for each piece. Reading pauses after each piece until `more()` is
    /// called, so memory stays bounded whatever the body's size. `completion` runs once at the end (the
    /// same head), or with the error that ended it. Redirects are followed before anything is handed
    /// over; the body is not decompressed (`Accept-Encoding` is not sent); `requestTimeout` bounds the
    /// whole transfer, so set it for the size you expect.
    ///
    /// ```swift
    /// client.stream(try HTTPClientRequest(url: "http://127.0.0.1:8080/big"),
    ///     onHead: { print($0.status) },
    ///     onBody: { piece, more in file.write(piece); more() },
    ///     { result in print("done", result) })
    /// ```
    @discardableResult
    public func stream(
        _ request: HTTPClientRequest,
        onHead: @escaping (HTTPClientResponse) -> Void,
        onBody: @escaping (ByteBuffer, _ more: @escaping () -> Void) -> Void,
        _ completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> HTTPClientTask {
        start(request, sink: HTTPResponseSink(onHead: onHead, onBody: onBody), completion)
    }
}
