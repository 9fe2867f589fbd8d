// The bridge from a callback to `async throws`: a task suspends in `EventLoop.withCompletion`, the callback
// completes a `LoopCompletion`, and the task resumes on the loop thread. Every waiting completion is in
// the loop's waiter list, so closing the loop resumes it (with `.loopClosed`) instead of leaving its task
// suspended for ever; a cancelled task resumes with `CancellationError` after its `onCancel` ran.

/// The other end of a task suspended in `EventLoop.withCompletion`: complete it once, on the loop thread,
/// with a value or an error. Later completions are ignored (a callback that fires twice, a cancellation
/// that raced the answer).
///
/// ```swift
/// let answer: Int = try await loop.withCompletion { completion in
///     client.request("…") { result in completion.complete(result) }
///     completion.onCancel = { client.cancelRequest() }
/// }
/// ```
public final class LoopCompletion<Value>: LoopWaiter {
    private var continuation: UnsafeContinuation<Value, any Error>?
    private unowned let loop: EventLoop
    /// Runs on the loop thread if the waiting task is cancelled before an answer came (stop a timer,
    /// cancel a request); the task then resumes with `CancellationError`.
    public var onCancel: (() -> Void)?

    init(loop: EventLoop) {
        self.loop = loop
    }

    func start(_ continuation: UnsafeContinuation<Value, any Error>) {
        self.continuation = continuation
    }

    /// Whether the task still waits for an answer.
    public var isPending: Bool { continuation != nil }

    /// Resumes the task with `value`.
    public func succeed(_ value: Value) {
        guard let continuation = take() else { return }
        // Made and consumed on the loop thread (the task resumes on the loop's executor): the value never
        // crosses a thread, which is what `sending` guards against.
        nonisolated(unsafe) let value = value  // safe: made and consumed on the loop thread, never shared
        continuation.resume(returning: value)
    }

    /// Resumes the task by throwing `error`.
    public func fail(_ error: any Error) {
        take()?.resume(throwing: error)
    }

    /// Resumes the task with `result`.
    public func complete(_ result: Result<Value, any Error>) {
        switch result {
        case .success(let value): succeed(value)
        case .failure(let error): fail(error)
        }
    }

    private func take() -> UnsafeContinuation<Value, any Error>? {
        loop.preconditionOnLoop("LoopCompletion")
        guard let continuation else { return nil }
        self.continuation = nil
        onCancel = nil
        loop.waiters.remove(self)
        return continuation
    }

    /// The waiting task was cancelled (called on the loop thread).
    func cancel() {
        guard isPending else { return }
        let hook = onCancel
        onCancel = nil
        hook?()
        fail(CancellationError())
    }

    override func loopClosed() {
        fail(EventLoopError(.loopClosed, "await a result on the loop"))
    }
}

/// A task waiting on the loop. The loop keeps the waiting ones in a list (linked through the waiters
/// themselves, so waiting costs no allocation besides the waiter) and fails them when it closes.
public class LoopWaiter {
    fileprivate var next: LoopWaiter?
    /// Unowned(unsafe): the list holds each waiter through its predecessor's `next` (or its head), so a
    /// waiter's predecessor is alive while the waiter is in the list, and cleared when it leaves.
    fileprivate unowned(unsafe) var previous: LoopWaiter?
    fileprivate var isListed = false

    /// The loop closed while the task waited.
    func loopClosed() {}
}

/// The waiters of one loop. Loop thread only.
final class WaiterList {
    private var head: LoopWaiter?

    var isEmpty: Bool { head == nil }

    func insert(_ waiter: LoopWaiter) {
        guard !waiter.isListed else { return }
        waiter.isListed = true
        waiter.next = head
        head?.previous = waiter
        head = waiter
    }

    func remove(_ waiter: LoopWaiter) {
        guard waiter.isListed else { return }
        waiter.isListed = false
        let next = waiter.next
        if let previous = waiter.previous {
            previous.next = next
        } else {
            head = next
        }
        next?.previous = waiter.previous
        waiter.next = nil
        waiter.previous = nil
    }

    /// Tells every waiter the loop closed; each removes itself as it completes.
    func closeAll() {
        while let waiter = head {
            waiter.loopClosed()
            remove(waiter)  // a waiter that did not remove itself must not hold the loop's close up
        }
    }
}

@available(*, unavailable, message: "a completion is bound to its event loop's thread")
extension LoopWaiter: Sendable {}

/// A value handed to a `@Sendable` closure that only ever unwraps it on its loop's thread (a task's
/// cancellation handler hopping to the loop through its handle, a task started on the loop).
///
/// Safety of `@unchecked Sendable`: `value` traps unless read on the loop thread (or while no thread runs
/// the loop), so the wrapped non-Sendable value is never used from two threads.
public struct LoopBound<Value>: @unchecked Sendable {  // safe: `value` is only readable on the loop thread
    private let wrapped: Value
    private let core: HandleCore

    /// Wraps `value`, which belongs to `loop`'s thread.
    public init(_ value: Value, loop: EventLoop) {
        wrapped = value
        core = loop.core
    }

    /// The value; traps off the loop thread.
    public var value: Value {
        precondition(core.isLoopThreadOrIdle, "LoopBound value read off its event loop's thread")
        return wrapped
    }
}
