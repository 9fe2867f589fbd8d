import WorkermanEventLoop

// Pub/sub as an `AsyncSequence`: what is published on the channels, read by a task on the client's loop.
extension RedisClient {
    /// Subscribes to `channels` and yields each message published on them, in order, until the client is
    /// closed or the reading task is cancelled (which unsubscribes). The subscription survives reconnects,
    /// as the callback form's does. Messages the reader has not taken yet wait in the stream (its
    /// `onHighWater` runs when `highWaterMark` of them do: Redis has no flow control for a slow subscriber).
    ///
    /// ```swift
    /// loop.task { _ in
    ///     for try await message in redis.subscribe(["news"]) {
    ///         print(message.channel, message.string)
    ///     }
    /// }
    /// ```
    public func subscribe(_ channels: [String], highWaterMark: Int = 1024) -> LoopStream<RedisPubSubMessage> {
        let stream = LoopStream<RedisPubSubMessage>(loop: loop, highWaterMark: highWaterMark)
        subscribe(channels) { [weak stream] message in stream?.yield(message) }
        stream.onTermination = { [weak self] in self?.unsubscribe(channels) }
        streams.append(WeakStream(stream))
        return stream
    }

    /// Subscribes to the glob-style `patterns` and yields each matching message (with its pattern).
    ///
    /// ```swift
    /// for try await message in redis.psubscribe(["user:*"]) { print(message.pattern!, message.channel) }
    /// ```
    public func psubscribe(_ patterns: [String], highWaterMark: Int = 1024) -> LoopStream<RedisPubSubMessage> {
        let stream = LoopStream<RedisPubSubMessage>(loop: loop, highWaterMark: highWaterMark)
        psubscribe(patterns) { [weak stream] message in stream?.yield(message) }
        stream.onTermination = { [weak self] in self?.punsubscribe(patterns) }
        streams.append(WeakStream(stream))
        return stream
    }

    /// Ends every subscription sequence (the client was closed by its owner).
    func finishStreams() {
        let open = streams
        streams = []
        for reference in open { reference.stream?.finish() }
    }
}

/// A weak reference to a subscription sequence: a client must not keep one nobody reads alive.
final class WeakStream {
    weak var stream: LoopStream<RedisPubSubMessage>?
    init(_ stream: LoopStream<RedisPubSubMessage>) { self.stream = stream }
}
