import WorkermanEventLoop
import WorkermanTransport

/// A streamed response for `for try await`: the head now, the body as pieces read on demand.
///
/// ```swift
/// let response = try await client.stream(try HTTPClientRequest(url: "http://127.0.0.1:8080/big"))
/// for try await piece in response.body { total += piece.readableBytes }
/// ```
public struct HTTPClientStreamingResponse {
    /// Status, headers and final URL (its `body` is empty).
    public let head: HTTPClientResponse
    /// The body's pieces; the socket is read only while fewer than `highWaterMark` wait here. Throws
    /// the `HTTPClientError` that ended the response early. A reader that stops early calls `cancel()`
    /// (a cancelled reading task cancels the request by itself).
    public let body: LoopStream<ByteBuffer>
    let task: HTTPClientTask

    public var status: Int { head.status }
    public func header(_ name: String) -> String? { head.header(name) }

    /// Abandons the rest of the body: the request ends and its connection closes.
    public func cancel() {
        task.cancel()
        body.finish()
    }
}

@available(*, unavailable, message: "a streamed response is read on its client's loop")
extension HTTPClientStreamingResponse: Sendable {}

// The async forms: each runs the callback form inside `loop.withCompletion`, so it resumes on the loop
// thread, and cancelling the awaiting task cancels the request (its connection is closed).
extension HTTPClient {
    /// `GET url`, awaited. Throws `HTTPClientError`, or `CancellationError` if the task is cancelled.
    ///
    /// ```swift
    /// loop.task { _ in
    ///     let response = try await client.get("http://127.0.0.1:8080/users", query: [("page", "2")])
    ///     print(response.status, response.text)
    /// }
    /// ```
    public func get(_ url: String, headers: [(String, String)] = [], query: [(String, String)] = []) async throws -> HTTPClientResponse {
        var request = try HTTPClientRequest(method: "GET", url: url, headers: headers)
        request.query = query
        return try await self.request(request)
    }

    /// `POST url` with `body`, awaited.
    ///
    /// ```swift
    /// let created = try await client.post("http://127.0.0.1:8080/users", body: .json(#"{"name":"Ada"}"#))
    /// ```
    public func post(_ url: String, headers: [(String, String)] = [], body: HTTPClientBody) async throws -> HTTPClientResponse {
        try await request(try HTTPClientRequest(method: "POST", url: url, headers: headers, body: body))
    }

    /// Sends `request` (following redirects), awaited.
    public func request(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try await loop.withCompletion("HTTPClient.request") { (completion: LoopCompletion<HTTPClientResponse>) in
            var cancelled = false
            // After a cancel the task ends with CancellationError, not the request's own `.cancelled`.
            let task = self.request(request) { result in if !cancelled { completion.complete(result.mapError { $0 }) } }
            completion.onCancel = {
                cancelled = true
                task.cancel()
            }
        }
    }

    /// Sends `request` and returns once its head arrived; the body follows through `body`, read from
    /// the socket only as fast as the loop consumes it (`highWaterMark` pieces wait at most).
    public func stream(_ request: HTTPClientRequest, highWaterMark: Int = 4) async throws -> HTTPClientStreamingResponse {
        let pieces = LoopStream<ByteBuffer>(loop: loop, highWaterMark: highWaterMark)
        var pending: (() -> Void)?
        var task: HTTPClientTask?
        var cancelled = false
        pieces.onLowWater = {
            let next = pending
            pending = nil
            next?()
        }
        pieces.onTermination = {
            // The reader left (finished, or stopped early): a response still coming is not wanted.
            task?.cancel()
        }
        return try await loop.withCompletion("HTTPClient.stream") { (completion: LoopCompletion<HTTPClientStreamingResponse>) in
            task = stream(
                request,
                onHead: { head in
                    // `task` is set: the head comes in a later tick than the call that made it.
                    guard let task else { return }
                    completion.succeed(HTTPClientStreamingResponse(head: head, body: pieces, task: task))
                },
                onBody: { piece, more in
                    pieces.yield(piece)
                    if pieces.bufferedCount < pieces.highWaterMark { more() } else { pending = more }
                },
                { result in
                    switch result {
                    case .success: pieces.finish()
                    case .failure(let error):
                        if !cancelled { completion.fail(error) }
                        pieces.finish(throwing: error)
                    }
                })
            completion.onCancel = {
                // The awaiting task ends with CancellationError, not with the request's `.cancelled`.
                cancelled = true
                task?.cancel()
            }
        }
    }
}
