import CWorkermanShims
import Synchronization  // Atomic

#if canImport(Glibc)
import Glibc
#endif

/// The one thread-safe doorway into an event loop: run a closure on the loop from any
/// thread, waking it if it is blocked in poll.
///
/// ```swift
/// let handle = loop.handle
/// Thread { handle.execute { loop in print("on the loop thread") } }
/// ```
public struct EventLoopHandle: Sendable, Hashable {
    let core: HandleCore

    /// Runs `job` on the loop thread during its next tick. Returns false (and drops the job) if the
    /// loop is closed.
    @discardableResult
    public func execute(_ job: @escaping @Sendable (EventLoop) -> Void) -> Bool {
        core.enqueue(job)
    }

    /// Asks the loop to stop after its current tick; safe from any thread and from signal-free contexts.
    @discardableResult
    public func stop() -> Bool {
        core.enqueue { loop in loop.stop() }
    }

    /// Whether the calling thread is the thread running the loop.
    public var inLoopThread: Bool { core.isLoopThread }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.core === rhs.core }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(core)) }
}

/// The shared state behind `EventLoopHandle`: a locked job queue and a wake-up descriptor.
///
/// Safety of `@unchecked Sendable`: `jobs` and `closed` are only touched under `state`'s lock, the flags
/// are atomics, and `wakeFD` is immutable and closed only in `deinit`, when no handle can reach it, so a
/// late `execute` never writes into a reused descriptor. The lock is a `ThreadLock` (a pthread mutex) so
/// that ThreadSanitizer sees the hand-over of every job from its producer to the loop thread.
final class HandleCore: @unchecked Sendable {  // safe: state under `state`'s lock, flags atomic, fd immutable
    typealias Job = @Sendable (EventLoop) -> Void

    /// A job as the queue stores it. The struct keeps the closure in its own representation: an array of
    /// bare closures stores each one re-abstracted, behind a thunk context allocated per job.
    struct QueuedJob {
        let run: Job
    }

    private struct State {
        var jobs: [QueuedJob] = []
        /// Swift concurrency jobs for the loop's executor (`LoopExecutor`), sent from other threads.
        var executorJobs: [UnownedJob] = []
        var closed = false
        /// Set by `closeExecutor()`, after `close()`: the loop drains executor jobs while it closes.
        var executorClosed = false
    }

    let wakeFD: CInt
    private let state = ThreadLock(State())
    /// True from the first job enqueued after a drain until the loop drains again: later producers skip
    /// the wake-up write, which they would only duplicate.
    private let wakePending = Atomic<Bool>(false)
    /// `pthread_self()` of the thread running the loop, or 0.
    private let loopThread = Atomic<UInt>(0)

    init() throws(Errno) {
        wakeFD = try Syscalls.eventfd()
    }

    deinit {
        try? Syscalls.close(wakeFD)  // nothing can be done about a failed close of our own eventfd
    }

    func enqueue(_ job: @escaping Job) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.jobs.append(QueuedJob(run: job))
            return true
        }
        guard accepted else { return false }
        wake()
        return true
    }

    /// Queues a concurrency job for the loop thread; false once the executor is closed.
    func enqueue(executorJob job: UnownedJob) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.executorClosed else { return false }
            state.executorJobs.append(job)
            return true
        }
        guard accepted else { return false }
        wake()
        return true
    }

    private func wake() {
        // The plain load keeps producers off the atomic read-modify-write (and the cache line in shared
        // state) while a wake-up is pending. It cannot miss a drain: the drain clears the flag before it takes
        // the jobs under the lock, and this job was appended under the same lock, so either the drain takes
        // it or this load sees the cleared flag.
        if !wakePending.load(ordering: .relaxed) && !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            // EAGAIN means the counter is saturated: the loop is awake already. Other errors cannot
            // happen on our own eventfd.
            _ = try? Syscalls.write(wakeFD, &one, 8)
        }
    }

    /// Called on the loop thread when `wakeFD` is readable: resets the wake-up, then takes every job.
    func drain(into jobs: inout [QueuedJob], executorJobs: inout [UnownedJob]) {
        var counter: UInt64 = 0
        _ = try? Syscalls.read(wakeFD, &counter, 8)  // EAGAIN: a spurious wake-up, nothing to reset
        // Cleared before taking the jobs, so a job enqueued after the take wakes the loop again.
        wakePending.store(false, ordering: .sequentiallyConsistent)
        state.withLock { state in
            swap(&state.jobs, &jobs)
            if !state.executorJobs.isEmpty { executorJobs.append(contentsOf: state.executorJobs) }
            state.executorJobs.removeAll(keepingCapacity: true)
        }
    }

    /// Takes the executor jobs other threads sent, without the wake-up (a closing loop drains them).
    func takeExecutorJobs(into executorJobs: inout [UnownedJob]) {
        state.withLock { state in
            executorJobs.append(contentsOf: state.executorJobs)
            state.executorJobs.removeAll()
        }
    }

    var hasJobs: Bool { state.withLock { !$0.jobs.isEmpty || !$0.executorJobs.isEmpty } }
    var hasExecutorJobs: Bool { state.withLock { !$0.executorJobs.isEmpty } }

    /// Refuses executor jobs from now on and returns those still queued.
    func closeExecutor() -> [UnownedJob] {
        state.withLock { state in
            state.executorClosed = true
            defer { state.executorJobs = [] }
            return state.executorJobs
        }
    }

    /// Refuses jobs from now on and returns those still queued (to be dropped).
    func close() -> [QueuedJob] {
        state.withLock { state in
            state.closed = true
            defer { state.jobs = [] }
            return state.jobs
        }
    }

    func bindLoopThread() { loopThread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing) }
    func unbindLoopThread() { loopThread.store(0, ordering: .releasing) }

    /// The loop thread, or any thread while none runs the loop (a loop is configured before it runs).
    var isLoopThreadOrIdle: Bool {
        let bound = loopThread.load(ordering: .acquiring)
        return bound == 0 || bound == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    var isLoopThread: Bool {
        loopThread.load(ordering: .acquiring) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }
}
