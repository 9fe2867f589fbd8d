// One event loop per process, on one thread.
//
// Tick order, one iteration of `run()`:
//
//   1. now    — read the clock once.
//   2. timers — run every timer due at `now`, earliest first (equal deadlines in scheduling order). A
//               repeating timer is re-queued at now + interval after its callback, so it fires at most
//               once per tick, and a slow callback delays its next run (Workerman's semantics). Timers
//               that these callbacks add wait for the next tick, even with a zero delay.
//   3. poll   — block in the backend until a descriptor is ready or the next deadline. The timeout is 0
//               when next-tick jobs or signals are pending, the time to the next timer when one is
//               queued, and infinite otherwise: an idle loop makes exactly one blocking syscall.
//   4. I/O    — for each ready descriptor, in the order the backend reported them, call its watcher. An
//               event is dropped when its descriptor was unwatched earlier in the tick, or closed and
//               reused (the registration's generation travels with the event).
//               Jobs sent through the handle run here, when its wake-up descriptor is reported.
//   5. next tick — run the jobs queued with `nextTick`; jobs they queue run in the next tick.
//   5b. tasks — run the concurrency jobs queued on the loop's executor (`LoopExecutor`): a task resumed in
//               this tick runs in this tick, and so do the jobs these jobs queue (up to a budget, then
//               the next tick polls without blocking). Jobs from other threads join them when the handle
//               is drained (phase 4).
//   6. signals — run the watchers of signals that arrived (the C handler only wrote to a pipe).
//
// A callback that throws goes to `errorHandler`; the loop keeps running.

#if canImport(Glibc)
import Glibc
#endif

/// A single-threaded event loop: descriptors, timers, next-tick jobs and signals, dispatched in a
/// documented order. Not `Sendable`: use `handle` to reach it from another thread.
///
/// ```swift
/// let loop = try EventLoop()
/// try loop.addTimer(every: 1.0) { print("tick") }
/// try loop.watchSignal(SIGINT) { _ in loop.stop() }
/// loop.run()
/// ```
public final class EventLoop {
    /// How `run` decides to return.
    public enum RunMode: Sendable {
        /// Return when stopped, or when nothing is watched, scheduled or queued.
        case untilIdle
        /// Return only when stopped (a server's loop: it waits for work forever).
        case untilStopped
    }

    /// The readiness backend, e.g. `epoll`.
    public let backend: any IOBackend
    public let clock: any LoopClock

    /// Called with every error a callback throws (and with errors the loop could not return to anyone).
    /// Defaults to a line on standard error.
    public var errorHandler: (any Error) -> Void = { error in EventLoop.logToStandardError("\(error)") }

    /// How many callbacks have thrown, for `status` (`throw_exception`).
    public private(set) var callbackErrorCount = 0

    // `@exclusivity(unchecked)` on the state a tick touches: the runtime's dynamic exclusivity check costs
    // about 25 instructions per access, and a tick made dozens (half of the loop's own instructions per
    // ready descriptor). They are safe to skip because the loop is confined to one thread and no access to
    // these properties spans a call that could reach them again: their mutations never run user code, and
    // never release a callback (whose deinit could call back into the loop) — the timer queue and the
    // descriptor table hand removed callbacks back, and jobs run from locals, not from the properties.
    let core: HandleCore
    /// The loop as a Swift concurrency executor: `Task(executorPreference: loop.executor)`, or an actor's
    /// `unownedExecutor`. Sendable, unlike the loop. See `LoopExecutor`.
    public let executor: LoopExecutor
    /// Tasks suspended in `withCompletion`, failed by `close()`.
    let waiters = WaiterList()
    @exclusivity(unchecked) var descriptors = DescriptorTable()
    @exclusivity(unchecked) var timers = TimerQueue()
    @exclusivity(unchecked) var deferredJobs: [DeferredJob] = []
    @exclusivity(unchecked) var spareDeferredJobs: [DeferredJob] = []
    var handleJobs: [HandleCore.QueuedJob] = []
    @exclusivity(unchecked) var signals = SignalState()
    let readyEvents: UnsafeMutableBufferPointer<ReadyEvent>

    /// Where the loop writes what it is doing; `bindActivityRecord` moves it to shared memory.
    @exclusivity(unchecked) package private(set) var activityRecord: UnsafeMutablePointer<ActivityRecord>
    private var ownsActivityRecord = true

    /// Per-loop state of the layers above (the transport's counters and read buffer), keyed by type, so
    /// nothing is a process-wide global.
    ///
    /// Ownership: the loop owns its attachments; an attachment refers back to its loop `unowned`, never
    /// strongly (the two would keep each other alive for ever, leaking a loop and all it holds each time a
    /// program drops one). `close()` tears them down (`LoopAttachment.loopDidClose()`) and lets them go, so
    /// what an attachment holds for the loop (a client connection, whose callbacks hold the loop) is
    /// released even while the program still holds the loop.
    package var attachments: [ObjectIdentifier: any LoopAttachment] = [:]

    @exclusivity(unchecked) private var stopRequested = false
    @exclusivity(unchecked) private var running = false
    /// Set while `run(.untilIdle)` runs: a tick whose timers took the last work does not block in poll.
    @exclusivity(unchecked) private var returnsWhenIdle = false
    @exclusivity(unchecked) public private(set) var isClosed = false

    /// Makes a loop on the chosen backend.
    ///
    /// - Parameters:
    ///   - backend: `.automatic` (epoll on Linux), `.epoll` or `.select`.
    ///   - clock: where time comes from; tests pass a manual clock.
    ///   - maxEventsPerPoll: how many ready descriptors one poll reports at most.
    public convenience init(
        backend kind: BackendKind = .automatic,
        clock: any LoopClock = MonotonicClock(),
        maxEventsPerPoll: Int = 1024
    ) throws(EventLoopError) {
        let backend: any IOBackend
        do {
            backend = try kind.makeBackend()
        } catch {
            throw EventLoopError(.backendFailure, "create \(kind) backend", cause: error)
        }
        try self.init(backend: backend, clock: clock, maxEventsPerPoll: maxEventsPerPoll)
    }

    /// Makes a loop on a backend of your own (tests use a scripted one).
    public init(
        backend: any IOBackend,
        clock: any LoopClock = MonotonicClock(),
        maxEventsPerPoll: Int = 1024
    ) throws(EventLoopError) {
        self.backend = backend
        self.clock = clock
        do {
            core = try HandleCore()
        } catch {
            backend.close()
            throw EventLoopError(.backendFailure, "create wake-up eventfd", cause: error)
        }
        executor = LoopExecutor(core: core)
        readyEvents = .allocate(capacity: max(1, maxEventsPerPoll))
        activityRecord = .allocate(capacity: 1)
        activityRecord.initialize(to: ActivityRecord())
        // Every stored property is set by now, so a throw from here runs `deinit`, which releases the
        // event array, the activity record and the backend: releasing them here too would free them twice.
        try watchInternal(core.wakeFD) { [unowned self] _ in self.runHandleJobs() }
    }

    deinit {
        close()
        readyEvents.deallocate()
        if ownsActivityRecord { activityRecord.deallocate() }
    }

    /// The thread-safe doorway to this loop.
    public var handle: EventLoopHandle { EventLoopHandle(core: core) }

    /// Whether the calling thread is the one running this loop (true before `run` too, from any thread:
    /// a loop is configured before it runs).
    public var inLoopThread: Bool { !running || core.isLoopThread }

    /// Traps unless called on the loop thread (or before the loop runs).
    public func preconditionInLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inLoopThread, "EventLoop used from a thread other than its own", file: file, line: line)
    }

    /// Traps, naming `api`, unless called on the loop thread (or before the loop runs). Async code checks
    /// with it that it resumed on the loop; loop-bound APIs reached from a task check with it that the
    /// task runs on the loop.
    ///
    /// ```swift
    /// loop.task { loop in
    ///     try await loop.sleep(for: .seconds(1))
    ///     loop.preconditionOnLoop()
    /// }
    /// ```
    public func preconditionOnLoop(_ api: @autoclosure () -> String = "", file: StaticString = #fileID, line: UInt = #line) {
        guard !inLoopThread else { return }
        let name = api()
        preconditionFailure(
            "\(name.isEmpty ? "EventLoop" : name) used from a thread other than its event loop's (run it in loop.task { } or send it through loop.handle)",
            file: file,
            line: line
        )
    }

    /// What the loop is doing right now.
    public var activity: LoopActivity { LoopActivity(activityRecord.pointee) }

    /// When the current tick's phase began (the clock's nanoseconds, read at each poll's start and end),
    /// or 0 before the first tick: a timestamp that costs no clock read.
    package var tickStart: UInt64 { activityRecord.pointee.since }

    /// How long this loop's ticks were busy, from the end of each poll to the end of the tick.
    public var tickHistogram: TickHistogram { activityRecord.pointee.tickHistogram }
    /// When the busy part of the last tick under `run()` began (0: none to record); the next tick's first
    /// clock read ends it.
    private var tickBusySince: UInt64 = 0

    /// Moves the activity record to `record` (shared memory the status command reads). The caller keeps
    /// `record` alive for the loop's lifetime.
    package func bindActivityRecord(to record: UnsafeMutablePointer<ActivityRecord>) {
        record.pointee = activityRecord.pointee
        if ownsActivityRecord { activityRecord.deallocate() }
        activityRecord = record
        ownsActivityRecord = false
    }

    /// Notes that a layer above is about to run a user callback for `subject`, so status can name it.
    @inline(__always)
    public func noteActivity(_ callback: ActivityCallback, subject: UInt64) {
        activityRecord.pointee.callback = callback.rawValue
        activityRecord.pointee.subject = subject
    }

    /// Whether jobs wait for the next tick (`nextTick`): an embedded connection steps its loop until none do.
    package var hasDeferredJobs: Bool { !deferredJobs.isEmpty || executor.hasLocalJobs || core.hasExecutorJobs }

    /// Whether anything would keep `run(.untilIdle)` going.
    public var hasWork: Bool {
        descriptors.userCount > 0 || timers.count > 0 || !deferredJobs.isEmpty || signals.watcherCount > 0
            || executor.hasLocalJobs
    }

    // MARK: - Running

    /// Runs ticks until `stop()`, or (in `.untilIdle` mode) until there is nothing left to wait for.
    ///
    /// - Throws: `EventLoopError` with `.backendFailure` if the backend's poll fails for good.
    public func run(_ mode: RunMode = .untilIdle) throws(EventLoopError) {
        precondition(!running, "EventLoop.run() called while already running")
        guard !isClosed else { throw EventLoopError(.loopClosed, "run") }
        running = true
        stopRequested = false
        returnsWhenIdle = mode == .untilIdle
        core.bindLoopThread()
        defer {
            running = false
            stopRequested = false  // a stop ends this run only; it must not make later `tick()`s skip the poll
            returnsWhenIdle = false
            core.unbindLoopThread()
            activityRecord.pointee.phase = ActivityRecord.idle
            if tickBusySince != 0 {
                activityRecord.pointee.tickHistogram.record(clock.nanoseconds() &- tickBusySince)
                tickBusySince = 0
            }
        }
        while !stopRequested {
            if mode == .untilIdle && !hasWork && !core.hasJobs { break }
            try tick()
        }
    }

    /// Runs one tick, blocking in poll at most as the tick order says. Tests step a loop with it.
    ///
    /// - Throws: `EventLoopError` `.loopClosed`, or `.backendFailure` if the backend's poll fails for good.
    public func tick() throws(EventLoopError) {
        guard !isClosed else { throw EventLoopError(.loopClosed, "tick") }
        // A loop stepped by hand (tests) is bound to the stepping thread for the tick, so the jobs its
        // callbacks queue on the executor stay on it, as under `run()`.
        let bindsThread = !running
        if bindsThread { core.bindLoopThread() }
        defer { if bindsThread { core.unbindLoopThread() } }
        var now = clock.nanoseconds()
        // Under `run()` the previous tick ended just before this read (only the loop's condition ran in
        // between): its busy time is taken from it, which saves every tick a clock read of its own.
        if tickBusySince != 0 {
            activityRecord.pointee.tickHistogram.record(now &- tickBusySince)
            tickBusySince = 0
        }
        runDueTimers(now: now)
        if stopRequested { return }

        let timeout: PollTimeout
        if !deferredJobs.isEmpty || signals.hasPending || executor.hasLocalJobs {
            timeout = .immediate
        } else if let deadline = timers.nextDeadline {
            timeout = deadline <= now ? .immediate : .nanoseconds(deadline - now)
        } else {
            // The timers just run may have taken the last work: then run(.untilIdle) must return, not block
            // forever. Jobs sent through the handle are work too (their wake-up ends the poll at once).
            if returnsWhenIdle && !hasWork && !core.hasJobs { return }
            timeout = .indefinite
        }

        activityRecord.pointee.phase = ActivityRecord.polling
        activityRecord.pointee.since = now
        activityRecord.pointee.timers = UInt64(timers.count)
        let found: Int
        do {
            found = try backend.poll(timeout: timeout, into: readyEvents)
        } catch {
            try recoverFromPollFailure(error)
            return
        }
        now = clock.nanoseconds()
        activityRecord.pointee.phase = ActivityRecord.running
        activityRecord.pointee.since = now

        dispatchReadyEvents(count: found)
        runDeferredJobs()
        // Stepped by hand, the loop may sit on a backend that never reports the handle's wake-up (a scripted
        // one): executor jobs sent between ticks are collected here instead.
        if bindsThread { core.takeExecutorJobs(into: &executor.localJobs) }
        if executor.hasLocalJobs {
            activityRecord.pointee.callback = ActivityCallback.task.rawValue
            executor.runLocalJobs()
        }
        runPendingSignals()
        activityRecord.pointee.ticks &+= 1
        if bindsThread {
            // Stepped by hand: the next tick may come much later, so this one is measured now.
            activityRecord.pointee.tickHistogram.record(clock.nanoseconds() &- now)
        } else {
            tickBusySince = now
        }
    }

    /// Makes `run()` return after the current tick. From another thread, use `handle.stop()`.
    public func stop() {
        stopRequested = true
    }

    /// Releases the backend, the wake-up and signal descriptors, every watcher, timer and job, and the
    /// attachments of the layers above. Watched descriptors are not closed: their owners close them.
    /// Idempotent; `deinit` calls it.
    public func close() {
        guard !isClosed else { return }
        precondition(!running || core.isLoopThread, "EventLoop.close() from another thread while it runs")
        isClosed = true
        stopRequested = true
        _ = core.close()
        closeSignals()
        // Callbacks and jobs are released after the mutations that take them out (see the stored properties).
        _ = descriptors.removeAll()
        _ = timers.cancelAll()
        var droppedJobs: [DeferredJob] = []
        swap(&droppedJobs, &deferredJobs)
        // Tasks waiting on this loop (a sleep, a reply) are resumed with `.loopClosed`; then the layers
        // above let go of what they hold for this loop (their pending requests fail, resuming more tasks).
        failWaiters()
        var closedAttachments: [ObjectIdentifier: any LoopAttachment] = [:]
        swap(&closedAttachments, &attachments)
        for attachment in closedAttachments.values { attachment.loopDidClose() }
        // Last, the tasks those resumptions queued run to their end (or their next suspension) here.
        drainExecutorWhileClosing()
        backend.close()
    }

    // MARK: - Next tick

    /// Queues `job` to run after this tick's I/O callbacks (or in the next tick, if called from a
    /// next-tick job). The poll does not block while jobs are queued.
    public func nextTick(_ job: @escaping () throws -> Void) {
        deferredJobs.append(DeferredJob(run: job))
    }

    /// A next-tick job as the queue stores it: in a struct, an array keeps the closure in its own
    /// representation (an array of bare closures stores each behind a thunk context allocated per job).
    struct DeferredJob {
        let run: () throws -> Void
    }

    private func runDeferredJobs() {
        guard !deferredJobs.isEmpty else { return }
        // Take the queued jobs and leave the spare array's storage in their place, so jobs queued by these
        // jobs wait for the next tick and neither array is reallocated in a steady state. The jobs run (and
        // are released) from a local, not from a property.
        var jobs: [DeferredJob] = []
        swap(&jobs, &spareDeferredJobs)
        swap(&jobs, &deferredJobs)
        activityRecord.pointee.callback = ActivityCallback.deferred.rawValue
        for job in jobs {
            do { try job.run() } catch { report(error, in: .deferred, subject: 0) }
        }
        jobs.removeAll(keepingCapacity: true)
        swap(&jobs, &spareDeferredJobs)
    }

    private func runHandleJobs() {
        // As in `runDeferredJobs`: the last batch's storage is swapped into the handle's queue, and the
        // jobs run from a local.
        var jobs: [HandleCore.QueuedJob] = []
        swap(&jobs, &handleJobs)
        core.drain(into: &jobs, executorJobs: &executor.localJobs)
        activityRecord.pointee.callback = ActivityCallback.job.rawValue
        for job in jobs { job.run(self) }
        jobs.removeAll(keepingCapacity: true)
        swap(&jobs, &handleJobs)
    }

    // MARK: - Errors

    func report(_ error: any Error, in callback: ActivityCallback, subject: UInt64) {
        callbackErrorCount += 1
        errorHandler(CallbackFailure(callback: callback, subject: subject, error: error))
    }

    static func logToStandardError(_ message: String) {
        // Standard error closed or full: the message is lost, and there is nowhere left to report that.
        try? Syscalls.writeAll(STDERR_FILENO, "workerman: \(message)\n".utf8)
    }
}

@available(*, unavailable, message: "EventLoop is bound to its thread; use loop.handle from other threads")
extension EventLoop: Sendable {}

/// Per-loop state a layer above keeps in `EventLoop.attachments` (the transport's context). The loop owns
/// it; it refers back to the loop `unowned`.
package protocol LoopAttachment: AnyObject {
    /// Called once by `EventLoop.close()`, after every watcher, timer and job was released: let go of what
    /// is held for the loop, so nothing it held keeps the loop (or itself) alive.
    func loopDidClose()
}
