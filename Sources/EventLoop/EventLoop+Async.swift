// async/await on the loop: start a task on the loop thread, suspend a task until a callback answers,
// sleep on the loop's timers. Every await here resumes on the loop thread (the task prefers the loop's
// executor), whatever thread completed the awaited work.

extension EventLoop {
    /// Starts a task that runs on this loop's thread: synchronously, from this call, up to its first
    /// suspension, then on the loop whenever it resumes. Call it on the loop thread (or before the loop runs).
    /// Its non-isolated async code runs on the loop (the loop is its preferred executor), so it may use the
    /// loop and loop-bound objects (connections) it captured; an `await` on an actor or on another thread's
    /// work comes back to the loop.
    ///
    /// ```swift
    /// loop.task { loop in
    ///     try await loop.sleep(for: .milliseconds(100))
    ///     connection.send("later")
    /// }
    /// ```
    ///
    /// A throw ends the task (the `Task`'s value rethrows it); nothing else sees it.
    @discardableResult
    public func task<Success: Sendable>(
        name: String? = nil,
        _ operation: @escaping (EventLoop) async throws -> Success
    ) -> Task<Success, any Error> {
        preconditionOnLoop("EventLoop.task")
        // The operation and the loop are not Sendable; the task runs them only on this loop's thread.
        let bound = LoopBound((self, operation), loop: self)
        return Task.immediate(name: name, executorPreference: executor) {
            let (loop, operation) = bound.value
            return try await operation(loop)
        }
    }

    /// Suspends the calling task until `start`'s callback completes `completion` (exactly once, on this
    /// loop's thread), and resumes it on the loop with the value or the error. A throw from `start` fails
    /// at once. If the task is cancelled first, `completion.onCancel` runs on the loop and the task throws
    /// `CancellationError`; if the loop closes first, it throws `EventLoopError` `.loopClosed`.
    ///
    /// The building block of every async form: a callback API becomes `async throws` with it.
    ///
    /// ```swift
    /// func connect() async throws {
    ///     try await loop.withCompletion { completion in
    ///         client.onConnect = { _ in completion.succeed(()) }
    ///         client.onError = { _, error in completion.fail(error) }
    ///         try client.connect()
    ///     }
    /// }
    /// ```
    ///
    /// - Parameter api: Named by the precondition failure when called from a task off the loop.
    public func withCompletion<Value>(
        _ api: @autoclosure () -> String = "EventLoop.withCompletion",
        _ start: (LoopCompletion<Value>) throws -> Void
    ) async throws -> Value {
        preconditionOnLoop(api())
        let completion = LoopCompletion<Value>(loop: self)
        let handle = self.handle
        let bound = LoopBound(completion, loop: self)
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                completion.start(continuation)
                waiters.insert(completion)
                do {
                    try start(completion)
                } catch {
                    completion.fail(error)
                }
                // Cancelled before this suspension (say while resumed and queued to run): the handler
                // already ran and found nothing pending, so nothing would end this wait. After `start`,
                // so its `onCancel` (stop a timer, end a stream) runs as for a later cancellation.
                if Task.isCancelled { completion.cancel() }
            }
        } onCancel: {
            // Any thread: hop to the loop, where the completion lives.
            if handle.inLoopThread {
                bound.value.cancel()
            } else {
                handle.execute { _ in bound.value.cancel() }
            }
        }
    }

    /// Suspends the calling task for `duration` on this loop's timers (1 ms resolution); cancellation
    /// ends the wait early with `CancellationError`.
    ///
    /// ```swift
    /// try await loop.sleep(for: .milliseconds(250))
    /// ```
    public func sleep(for duration: Duration) async throws {
        try await withCompletion("EventLoop.sleep") { (completion: LoopCompletion<Void>) in
            let id = try addTimer(after: duration) { completion.succeed(()) }
            completion.onCancel = { [unowned self] in self.cancelTimer(id) }
        }
    }

    // MARK: - Closing

    /// Fails every task waiting on this loop (see `close()`).
    func failWaiters() {
        let bound = bindClosingThread()
        defer { if bound { core.unbindLoopThread() } }
        waiters.closeAll()
    }

    /// Runs the concurrency jobs queued on this loop until none is left (the tasks `close()` resumed run to
    /// their end or their next suspension), then refuses more: later ones run elsewhere (`LoopExecutor`).
    func drainExecutorWhileClosing() {
        let bound = bindClosingThread()
        defer { if bound { core.unbindLoopThread() } }
        // Bounded: a task that keeps re-queuing itself must not keep close() from returning.
        for _ in 0..<256 {
            core.takeExecutorJobs(into: &executor.localJobs)
            guard executor.hasLocalJobs else { break }
            executor.runLocalJobs()
        }
        executor.close(leftover: core.closeExecutor())
    }

    /// Makes the closing thread the loop thread while `close()` resumes tasks, so what they queue stays
    /// on it. Returns whether it bound (and so must unbind).
    private func bindClosingThread() -> Bool {
        guard !core.isLoopThread else { return false }
        core.bindLoopThread()
        return true
    }
}
