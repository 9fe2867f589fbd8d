import WorkermanEventLoop

/// What a connection asks of its async handler state (it is typed by the codec; the connection is not).
package protocol ConnectionTaskState: AnyObject {
    /// A handler task is running (or suspended): the connection is not idle.
    var isBusy: Bool { get }
    /// The connection closed: cancel the task, drop what waits.
    func connectionClosed()
}

/// The async handlers' side of one connection: one task at a time runs its work (`onConnectAsync`, then
/// each message's `onMessageAsync`) in order; work that arrives meanwhile waits here. Loop thread only.
///
/// How a message flows: the codec driver calls the sync `onMessage` as always; the async form installed
/// there calls `submit`. With no task running, a task starts at once (`Task.immediate`, preferring the
/// loop's executor), so a handler that does not suspend runs to its end inside the read that brought its
/// message, its answer in the same write as a sync handler's. A task that suspends keeps the connection:
/// later messages queue, and past `maxQueuedMessages` the connection stops reading until the task catches
/// up. The task handles what queued before it ends; closing the connection cancels it.
final class ConnectionTasks<C: Codec>: TrackedTask, ConnectionTaskState {
    enum Work {
        case connect
        case message(C.Message)
    }

    /// Unowned: the connection holds this state; the running task holds the connection.
    private unowned let connection: TCPConnection<C>
    private var waiting: [Work] = []
    /// Index of the next waiting item (items before it were taken; the array is reset when drained).
    private var nextWaiting = 0
    private(set) var isBusy = false
    private var task: Task<Void, Never>?
    /// This state paused the connection's reads (back-pressure), and must resume them.
    private var pausedReads = false

    private init(connection: TCPConnection<C>) {
        self.connection = connection
    }

    /// The connection's state, made on first use.
    static func of(_ connection: TCPConnection<C>) -> ConnectionTasks<C> {
        // The type test is a pointer comparison; the slot may hold a `messages` stream's state instead.
        if let state = connection.taskState, type(of: state) == ConnectionTasks<C>.self {
            return unsafeDowncast(state, to: ConnectionTasks<C>.self)
        }
        let state = ConnectionTasks(connection: connection)
        connection.taskState = state
        return state
    }

    private var waitingCount: Int { waiting.count - nextWaiting }

    /// Runs `work` now, or after the work already in flight.
    func submit(_ work: Work) {
        guard connection.lifecycle.state != .closed else { return }
        if isBusy {
            waiting.append(work)
            let limit = connection.handlers.storage?.async.maxQueuedMessages ?? 16
            if waitingCount >= limit && !connection.isPaused {
                pausedReads = true
                connection.pauseReceiving()
            }
            return
        }
        isBusy = true
        let loop = connection.loop
        TransportContext.of(loop).tasks.begin(self, Self.callback(of: work), subject: UInt64(connection.id))
        let connection = self.connection
        let task = Self.startTask(on: loop) { await self.run(first: work, on: connection) }
        // A handler that did not suspend has finished already, and must not be cancelled later.
        if isBusy { self.task = task }
    }

    /// The task's body: `first`, then whatever queued meanwhile, until the queue is empty or the
    /// connection goes away.
    private func run(first: Work, on connection: TCPConnection<C>) async {
        var work: Work? = first
        while let current = work {
            if connection.lifecycle.state == .closed || Task.isCancelled { break }
            let kind = Self.callback(of: current)
            do {
                try await perform(current, on: connection, kind)
            } catch {
                handlerFailed(error, kind, on: connection)
                break
            }
            work = takeWaiting()
            if pausedReads && waitingCount < max(1, (connection.handlers.storage?.async.maxQueuedMessages ?? 16) / 2 + 1) {
                pausedReads = false
                connection.resumeReceiving()
            }
        }
        finish(connection)
    }

    private func perform(_ work: Work, on connection: TCPConnection<C>, _ kind: ActivityCallback) async throws {
        guard let handlers = connection.handlers.storage?.async else { return }
        connection.loop.noteActivity(kind, subject: UInt64(connection.id))
        switch work {
        case .connect:
            try await handlers.onConnect?(connection)
        case .message(let message):
            try await handlers.onMessage?(connection, message)
        }
    }

    private func takeWaiting() -> Work? {
        guard nextWaiting < waiting.count else {
            if !waiting.isEmpty {
                waiting.removeAll(keepingCapacity: true)
                nextWaiting = 0
            }
            return nil
        }
        let work = waiting[nextWaiting]
        nextWaiting += 1
        if nextWaiting == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            nextWaiting = 0
        }
        return work
    }

    private func finish(_ connection: TCPConnection<C>) {
        isBusy = false
        task = nil
        dropWaiting()
        TransportContext.of(connection.loop).tasks.end(self)
        if pausedReads {
            pausedReads = false
            connection.resumeReceiving()
        }
        // A graceful stop or reload waited for this exchange: the connection may close now.
        if connection.isDraining { connection.closeIfIdleAndDraining() }
    }

    private func dropWaiting() {
        waiting.removeAll()
        nextWaiting = 0
    }

    /// A handler threw: the protocol's error answer if it has one, then log, count and close. A
    /// cancellation because the connection closed is the expected end, not a failure.
    private func handlerFailed(_ error: any Error, _ kind: ActivityCallback, on connection: TCPConnection<C>) {
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

    func connectionClosed() {
        dropWaiting()
        task?.cancel()
    }

    private static func callback(of work: Work) -> ActivityCallback {
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
    @discardableResult
    private static func startTask(on loop: EventLoop, _ body: @escaping () async -> Void) -> Task<Void, Never> {
        // The body holds loop-bound objects (the connection, this state); the task runs it on the loop
        // only. Boxed as a plain function type, so the task's closure captures no codec metatype.
        let bound = LoopBound(body, loop: loop)
        return Task.immediate(executorPreference: loop.executor) { await bound.value() }
    }
}
