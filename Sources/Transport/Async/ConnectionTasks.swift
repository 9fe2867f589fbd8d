import WorkermanEventLoop

/// What a connection asks of its async handler state (it is typed by the codec; the connection is not).
@usableFromInline
package protocol ConnectionTaskState: AnyObject {
    /// A handler task is running (or suspended): the connection is not idle.
    var isBusy: Bool { get }
    /// The connection closed: cancel the task, drop what waits.
    func connectionClosed()
}

/// The async handlers' side of one connection: one long-lived task runs its work (`onConnectAsync`, then
/// each message's `onMessageAsync`) in order; work that arrives while a handler runs waits here. Loop
/// thread only.
///
/// How a message flows: the codec driver calls the sync `onMessage` as always; the async form installed
/// there calls `Codec.submitAsync`, whose default runs `submit` compiled for the codec. The connection's
/// first work starts its task at once (`Task.immediate`, preferring the loop's executor), so a handler
/// that does not suspend runs to its end inside the read that brought its message, its answer in the same
/// write as a sync handler's. When the handler returns and nothing waits, the task parks on a
/// continuation instead of ending; the next message resumes it and runs it on the spot
/// (`LoopExecutor.runResumed`), still inside the read. A handler that suspends keeps the connection busy:
/// later messages queue, and past `maxQueuedMessages` the connection stops reading until the task catches
/// up. Closing the connection cancels a running handler and ends a parked task.
///
/// Why it is built so (measured with callgrind, `Benchmarks/async-cost.sh`): a task per message (made and
/// destroyed, with its executor preference record) and this type's generic code run unspecialized (a
/// metadata lookup for each use of `Work`, value-witness calls for each copy of a message) cost five times
/// a sync request. One task per connection, and the hot paths `@inlinable` so that `Codec.submitAsync`
/// compiles them for each codec where its conformance is declared, leave the continuation's resume and
/// suspension as the cost of an async handler.
@usableFromInline
final class ConnectionTasks<C: Codec>: TrackedTask, ConnectionTaskState {
    @usableFromInline
    enum Work {
        case connect
        case message(C.Message)
    }

    /// The next work (nil: stop), as the parked task's continuation hands it over.
    ///
    /// Safety of `@unchecked Sendable`: the work is made on the loop thread and the task resumes on the
    /// loop thread (it prefers the loop's executor, and `runResumed` runs it there): it never crosses one.
    @usableFromInline
    struct Handoff: @unchecked Sendable {  // safe: made and consumed on the loop thread, never shared
        @usableFromInline let work: Work?

        @inlinable
        init(work: Work?) { self.work = work }
    }

    // Unowned(unsafe): the connection holds this state (its `taskState`) for its whole life, and the task,
    // which holds this state too, holds the connection: whoever reaches this state reaches a live
    // connection. A checked unowned reference cost an atomic retain and release per use.
    // `@exclusivity(unchecked)` on the rest, as on the loop's tick state: loop thread only, and no access
    // spans a call that could reach them again (the continuation is taken out before it is resumed).
    @usableFromInline unowned(unsafe) let connection: TCPConnection<C>
    @exclusivity(unchecked) @usableFromInline var waiting: [Work] = []
    /// Index of the next waiting item (items before it were taken; the array is reset when drained).
    @exclusivity(unchecked) @usableFromInline var nextWaiting = 0
    /// A handler runs (or is suspended): what is submitted meanwhile waits.
    @exclusivity(unchecked) @usableFromInline var isBusy = false
    /// The connection's task, from its first work until the connection closes.
    @exclusivity(unchecked) @usableFromInline var task: Task<Void, Never>?
    /// The task, idle, waiting for its next work (nil: it runs a handler, or there is no task).
    @exclusivity(unchecked) @usableFromInline var parked: UnsafeContinuation<Handoff, Never>?
    /// This state paused the connection's reads (back-pressure), and must resume them.
    @exclusivity(unchecked) @usableFromInline var pausedReads = false

    @usableFromInline
    init(connection: TCPConnection<C>) {
        self.connection = connection
    }

    /// The connection's state, made on first use.
    @inlinable
    static func of(_ connection: TCPConnection<C>) -> ConnectionTasks<C> {
        // The type test is a pointer comparison; the slot may hold a `messages` stream's state instead.
        if let state = connection.taskState, type(of: state) == ConnectionTasks<C>.self {
            return unsafeDowncast(state, to: ConnectionTasks<C>.self)
        }
        let state = ConnectionTasks(connection: connection)
        connection.taskState = state
        return state
    }

    @inlinable
    var waitingCount: Int { waiting.count &- nextWaiting }

    @inlinable
    var maxQueuedMessages: Int { connection.handlers.storage?.async.maxQueuedMessages ?? 16 }

    /// Runs `work` now, or after the work already in flight.
    @inlinable
    func submit(_ work: Work) {
        guard connection.lifecycle.state != .closed else { return }
        if isBusy {
            waiting.append(work)
            if waitingCount >= maxQueuedMessages && !connection.isPaused {
                pausedReads = true
                connection.pauseReceiving()
            }
            return
        }
        isBusy = true
        let loop = connection.loop
        connection.context.tasks.begin(self, Self.callback(of: work), subject: UInt64(connection.id))
        if let parked {
            self.parked = nil
            loop.executor.runResumed { parked.resume(returning: Handoff(work: work)) }
            return
        }
        let connection = self.connection
        let started = Self.startTask(on: loop) { await self.run(first: work, on: connection) }
        // A task that ended already (its handler threw and closed the connection) is not kept.
        if isBusy || parked != nil { task = started }
    }

    /// The task's body: `first`, then whatever is submitted later, until the connection goes away or a
    /// handler throws.
    @inlinable
    func run(first: Work, on connection: TCPConnection<C>) async {
        var work = first
        while connection.lifecycle.state != .closed && !Task.isCancelled {
            let kind = Self.callback(of: work)
            do {
                try await perform(work, on: connection, kind)
            } catch {
                handlerFailed(error, kind, on: connection)
                break
            }
            if let next = takeWaiting() {
                work = next
                if pausedReads && waitingCount < maxQueuedMessages / 2 + 1 {
                    pausedReads = false
                    connection.resumeReceiving()
                }
                continue
            }
            becameIdle(connection)
            // Nothing runs between this check and the continuation's store: a close cannot slip between.
            guard connection.lifecycle.state != .closed, !Task.isCancelled else { break }
            // Unsafe, not checked: the continuation is resumed exactly once, by `submit` (the next work)
            // or by `connectionClosed` (nil), each of which takes it out of `parked` first, all on the
            // loop thread; a checked one costs an allocation per suspension.
            guard let next = await withUnsafeContinuation({ parked = $0 }).work else { break }
            work = next
        }
        finish(connection)
    }

    @inlinable
    func perform(_ work: Work, on connection: TCPConnection<C>, _ kind: ActivityCallback) async throws {
        connection.loop.noteActivity(kind, subject: UInt64(connection.id))
        switch work {
        case .connect:
            guard let onConnect = connection.handlers.storage?.async.onConnect else { return }
            try await onConnect(connection)
        case .message(let message):
            guard let onMessage = connection.handlers.storage?.async.onMessage else { return }
            try await onMessage(connection, message)
        }
    }

    @inlinable
    func takeWaiting() -> Work? {
        guard nextWaiting < waiting.count else { return nil }
        let work = waiting[nextWaiting]
        nextWaiting += 1
        if nextWaiting == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            nextWaiting = 0
        }
        return work
    }

    /// The handlers caught up: the connection is idle (not in flight for `status` or a draining close).
    @inlinable
    func becameIdle(_ connection: TCPConnection<C>) {
        guard isBusy else { return }
        isBusy = false
        connection.context.tasks.end(self)
        if pausedReads {
            pausedReads = false
            connection.resumeReceiving()
        }
        // A graceful stop or reload waited for this exchange: the connection may close now.
        if connection.isDraining { connection.closeIfIdleAndDraining() }
    }

    /// The task ends (the connection closed, or a handler threw).
    @usableFromInline
    func finish(_ connection: TCPConnection<C>) {
        task = nil
        parked = nil
        dropWaiting()
        becameIdle(connection)
    }

    @usableFromInline
    func dropWaiting() {
        waiting.removeAll()
        nextWaiting = 0
    }

    /// A handler threw: the protocol's error answer if it has one, then log, count and close. A
    /// cancellation because the connection closed is the expected end, not a failure.
    @usableFromInline
    func handlerFailed(_ error: any Error, _ kind: ActivityCallback, on connection: TCPConnection<C>) {
        if error is CancellationError && connection.lifecycle.state == .closed { return }
        if kind == .onMessage, connection.lifecycle.isOpen, let answering = C.self as? any AnswersFailedHandlers.Type {
            Self.answer(answering, connection: connection, waiting: waitingCount)
        }
        dropWaiting()
        connection.callbackFailed(kind, error)
    }

    private static func answer<A: AnswersFailedHandlers>(_: A.Type, connection: TCPConnection<C>, waiting: Int) {
        // C is A here (the cast above succeeded), so the connection is a `TCPConnection<A>`.
        A.answerFailedHandler(on: unsafeDowncast(connection, to: TCPConnection<A>.self), waitingMessages: waiting)
    }

    @usableFromInline
    func connectionClosed() {
        dropWaiting()
        if let parked {
            // The idle task ends: it was waiting for work that will not come.
            self.parked = nil
            connection.loop.executor.runResumed { parked.resume(returning: Handoff(work: nil)) }
        } else {
            task?.cancel()
        }
    }

    @inlinable
    static func callback(of work: Work) -> ActivityCallback {
        switch work {
        case .connect: return .onConnect
        case .message: return .onMessage
        }
    }

    // MARK: - onCloseAsync

    /// Runs `onCloseAsync` in a task of its own, tracked like the others (a graceful stop waits for it).
    static func runOnClose(_ connection: TCPConnection<C>) {
        guard let onClose = connection.handlers.storage?.async.onClose else { return }
        let loop = connection.loop
        let tracked = TrackedTask()
        let tracker = TransportContext.of(loop).tasks
        tracker.begin(tracked, .onClose, subject: UInt64(connection.id))
        startTask(on: loop) {
            do {
                try await onClose(connection)
            } catch {
                connection.callbackFailed(.onClose, error)
            }
            tracker.end(tracked)
        }
    }

    /// Starts `body` at once on the loop thread, in a task that prefers the loop's executor.
    @usableFromInline @discardableResult
    static func startTask(on loop: EventLoop, _ body: @escaping () async -> Void) -> Task<Void, Never> {
        // The body holds loop-bound objects (the connection, this state); the task runs it on the loop
        // only. Boxed as a plain function type, so the task's closure captures no codec metatype.
        let bound = LoopBound(body, loop: loop)
        return Task.immediate(executorPreference: loop.executor) { await bound.value() }
    }
}
