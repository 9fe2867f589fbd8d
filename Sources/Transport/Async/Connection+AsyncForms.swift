import WorkermanEventLoop

extension TCPClient {
    /// Connects and suspends until the connection is established (`onConnect` has run by then); throws
    /// the `TransportError` `.connectFailed` that `onError` gets. Returns at once when already connected.
    /// Cancelling the task closes the client.
    ///
    /// ```swift
    /// let client = try TCPClient<TextCodec>(loop: loop, url: "text://127.0.0.1:2000")
    /// try await client.connect()
    /// client.send("hello")
    /// ```
    public func connect() async throws {
        if status == .established { return }
        try await loop.withCompletion("TCPClient.connect") { (completion: LoopCompletion<Void>) in
            // A second caller waiting on the same attempt takes over; the first is told it was replaced.
            connectWaiter?.fail(TransportError(.connectFailed, "connect \(endpoint)", detail: "another connect() took over"))
            connectWaiter = completion
            completion.onCancel = { [weak self] in
                self?.connectWaiter = nil
                self?.close()
            }
            connect()
        }
    }
}

extension TCPConnection {
    /// This connection's messages as an `AsyncSequence`, for a task on the loop (replaces `onMessage`).
    /// The sequence ends when the connection closes. Reads pause while `highWaterMark` messages wait
    /// unread, and resume when the reader has caught up.
    ///
    /// ```swift
    /// loop.task { _ in
    ///     try await client.connect()
    ///     client.send("SUBSCRIBE news")
    ///     for try await line in client.messages() { print(line) }
    /// }
    /// ```
    public func messages(highWaterMark: Int = 16) -> LoopStream<C.Message> {
        let stream = LoopStream<C.Message>(loop: loop, highWaterMark: highWaterMark)
        onMessage = { _, message in stream.yield(message) }
        stream.onHighWater = { [unowned self] in self.pauseReceiving() }
        stream.onLowWater = { [unowned self] in self.resumeReceiving() }
        taskState = MessageStreamState(stream: stream)
        if lifecycle.state == .closed { stream.finish() }
        return stream
    }
}

/// Ends a connection's `messages()` stream when the connection closes.
private final class MessageStreamState<Message>: ConnectionTaskState {
    let stream: LoopStream<Message>
    init(stream: LoopStream<Message>) { self.stream = stream }
    var isBusy: Bool { false }
    func connectionClosed() { stream.finish() }
}
