import WorkermanEventLoop

// The async forms of a Channel subscription and queue watch: an `AsyncSequence` of what is published, read
// by a task on the client's loop. Publishing needs no async form: `publish` and `enqueue` never wait (they
// queue while disconnected), so a task calls them as they are.
extension ChannelClient {
    /// Subscribes to `event` and yields the data of each one published, in order, until the client closes
    /// or the reading task is cancelled (which unsubscribes). Replaces an `on(event)` callback.
    ///
    /// ```swift
    /// loop.task { _ in
    ///     for try await data in channel.events("chat") {
    ///         for connection in ws.connections.values { connection.send(.text(data["text"]?.stringValue ?? "")) }
    ///     }
    /// }
    /// channel.publish("chat", ["text": "hello"])
    /// ```
    public func events(_ event: String, highWaterMark: Int = 1024) -> LoopStream<PHPValue> {
        let stream = LoopStream<PHPValue>(loop: loop, highWaterMark: highWaterMark)
        on(event) { data in stream.yield(data) }
        stream.onTermination = { [weak self] in self?.unsubscribe(event) }
        streams.append(Weak(stream))
        return stream
    }

    /// Takes jobs from the queue `channel` as a sequence: the next job is reserved when the reader asks for
    /// it, so a slow reader takes no more than it handles (the other consumers get the rest).
    public func jobs(_ channel: String) -> LoopStream<PHPValue> {
        let stream = LoopStream<PHPValue>(loop: loop, highWaterMark: 1)
        watch(channel, autoReserve: false) { data in stream.yield(data) }
        // One reserve each time the reader waits for a job: it never holds a job it has not asked for.
        stream.onDemand = { [weak self] in self?.reserve() }
        stream.onTermination = { [weak self] in self?.unwatch(channel) }
        streams.append(Weak(stream))
        return stream
    }

    /// Ends the sequences of `events` and `jobs` (the client closed).
    func finishStreams() {
        let open = streams
        streams = []
        for reference in open { reference.value?.finish() }
    }
}

/// A weak reference, so a client does not keep a sequence nobody reads alive.
final class Weak<Value: AnyObject> {
    weak var value: Value?
    init(_ value: Value) { self.value = value }
}
