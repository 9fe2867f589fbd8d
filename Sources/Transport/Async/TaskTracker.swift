import WorkermanEventLoop

/// One handler task in flight, as `TaskTracker` lists it: which callback started it, for which
/// connection, since when. A connection's `ConnectionTasks` is its own node, so tracking costs no
/// allocation.
@usableFromInline
class TrackedTask {
    var callback = ActivityCallback.none
    var subject: UInt64 = 0
    var since: UInt64 = 0
    fileprivate var next: TrackedTask?
    /// Unowned(unsafe): a listed node's predecessor holds it (through `next`), so it outlives the link.
    fileprivate unowned(unsafe) var previous: TrackedTask?
    fileprivate var isListed = false

    @usableFromInline
    init() {}
}

/// The async handler tasks of one loop that have not finished, oldest first: their count and the oldest
/// one go to the statistics `status` reads (`tasksInFlight`, and which callback the oldest runs, for which
/// connection, since when), so a handler stuck on an `await` that never returns shows up with its age.
/// Loop thread only.
public final class TaskTracker {
    /// Unowned(unsafe): the context owns this tracker (its `tasks`), so it outlives every call here; a
    /// checked unowned reference cost an atomic retain and release on each of the eight uses per message.
    private unowned(unsafe) let context: TransportContext
    private var head: TrackedTask?
    /// The newest, where new tasks join.
    private unowned(unsafe) var tail: TrackedTask?
    /// Tasks in flight.
    public private(set) var count = 0

    init(context: TransportContext) {
        self.context = context
    }

    /// Lists `task` as started now by `callback` for `subject`.
    @usableFromInline
    func begin(_ task: TrackedTask, _ callback: ActivityCallback, subject: UInt64) {
        guard !task.isListed else { return }
        task.callback = callback
        task.subject = subject
        // The time the loop's tick began (read once per tick anyway): a task's age is shown in seconds, and
        // a clock read per message would cost more than the rest of the bookkeeping.
        let tickStart = context.loop.tickStart
        task.since = tickStart != 0 ? tickStart : context.loop.clock.nanoseconds()
        task.isListed = true
        task.previous = tail
        if let tail { tail.next = task } else { head = task }
        tail = task
        count += 1
        publish()
    }

    /// Takes `task` off the list: it finished.
    @usableFromInline
    func end(_ task: TrackedTask) {
        guard task.isListed else { return }
        task.isListed = false
        let next = task.next
        if let previous = task.previous { previous.next = next } else { head = next }
        if let next { next.previous = task.previous } else { tail = task.previous }
        task.next = nil
        task.previous = nil
        count -= 1
        publish()
    }

    /// The oldest task in flight: its callback, connection id and start (monotonic nanoseconds).
    public var oldest: (callback: ActivityCallback, subject: UInt64, since: UInt64)? {
        head.map { ($0.callback, $0.subject, $0.since) }
    }

    private func publish() {
        context.statistics.tasksInFlight = count
        context.statistics.oldestTaskCallback = Int(head?.callback.rawValue ?? 0)
        context.statistics.oldestTaskSubject = Int(truncatingIfNeeded: head?.subject ?? 0)
        context.statistics.oldestTaskSince = Int(truncatingIfNeeded: head?.since ?? 0)
    }
}
