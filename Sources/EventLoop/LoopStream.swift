/// Values a callback produces on the loop thread, read by one task on the loop as an `AsyncSequence`:
/// the building block of the async forms that deliver many values (a connection's messages, a Channel
/// subscription). The producer calls `yield` and `finish`; the consumer writes `for try await`.
/// Loop-bound: producer and consumer both run on the loop thread.
///
/// Back-pressure: `onHighWater` runs when `highWaterMark` values wait unread (pause the producer, say a
/// connection's reads), `onLowWater` when the reader has taken them down to half of it.
///
/// ```swift
/// let ticks = LoopStream<Int>(loop: loop)
/// var count = 0
/// try loop.addTimer(every: 1) { count += 1; ticks.yield(count) }
/// loop.task { _ in
///     for try await tick in ticks { print("tick \(tick)") }
/// }
/// ```
public final class LoopStream<Element>: AsyncSequence {
    public typealias Failure = any Error

    private unowned let loop: EventLoop
    private var buffer: [Element] = []
    private var head = 0
    private var waiter: LoopCompletion<Element?>?
    private var finished = false
    private var failure: (any Error)?
    private var aboveHighWater = false

    /// How many unread values trigger `onHighWater`.
    public var highWaterMark: Int
    /// Runs when `highWaterMark` values wait unread.
    public var onHighWater: (() -> Void)?
    /// Runs when the reader has caught up to half the high-water mark after `onHighWater`.
    public var onLowWater: (() -> Void)?
    /// Runs each time the reader finds nothing buffered and waits (a producer that hands out work on
    /// request, as a queue consumer reserving its next job).
    public var onDemand: (() -> Void)?
    /// Runs once, when the stream finishes or its reader goes away (its task cancelled while waiting).
    public var onTermination: (() -> Void)?

    public init(loop: EventLoop, highWaterMark: Int = 16) {
        self.loop = loop
        self.highWaterMark = Swift.max(1, highWaterMark)
    }

    /// Values waiting to be read.
    public var bufferedCount: Int { buffer.count - head }

    /// Whether `finish` was called.
    public var isFinished: Bool { finished }

    /// Hands `element` to the reader (at once if it waits). Ignored after `finish`.
    public func yield(_ element: Element) {
        guard !finished else { return }
        if let waiter {
            self.waiter = nil
            waiter.succeed(element)
            return
        }
        buffer.append(element)
        if !aboveHighWater && bufferedCount >= highWaterMark {
            aboveHighWater = true
            onHighWater?()
        }
    }

    /// Ends the sequence: the reader gets what is buffered, then nil (or `error`, thrown).
    public func finish(throwing error: (any Error)? = nil) {
        guard !finished else { return }
        finished = true
        failure = error
        if let waiter {
            self.waiter = nil
            if let error { waiter.fail(error) } else { waiter.succeed(nil) }
        }
        terminate()
    }

    private func terminate() {
        let hook = onTermination
        onTermination = nil
        onHighWater = nil
        onLowWater = nil
        onDemand = nil
        hook?()
    }

    /// The next value, suspending until there is one; nil once finished.
    func next() async throws -> Element? {
        if head < buffer.count {
            let element = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            if aboveHighWater && bufferedCount <= highWaterMark / 2 {
                aboveHighWater = false
                onLowWater?()
            }
            return element
        }
        if finished {
            if let failure {
                self.failure = nil
                throw failure
            }
            return nil
        }
        return try await loop.withCompletion("LoopStream.next") { (completion: LoopCompletion<Element?>) in
            waiter = completion
            onDemand?()
            completion.onCancel = { [unowned self] in
                // The reader is gone: nobody will read what comes next.
                self.waiter = nil
                self.finished = true
                self.terminate()
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: LoopStream<Element>

        public mutating func next() async throws -> Element? {
            try await stream.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }
}

@available(*, unavailable, message: "a stream is bound to its event loop's thread")
extension LoopStream: Sendable {}
