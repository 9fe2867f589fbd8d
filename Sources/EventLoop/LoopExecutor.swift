// The loop as a Swift concurrency executor (design decision 13).
//
// A job enqueued on the loop thread goes into `localJobs`, a plain array only that thread touches: no lock,
// no wake-up write, and the loop runs it in the same tick (tick phase 5, after the next-tick jobs). A job
// enqueued on any other thread (a continuation resumed by a helper thread, `Task.sleep` firing, an actor
// hop back) goes through the handle's locked queue and its eventfd, which wakes a loop blocked in poll;
// the loop moves those jobs into `localJobs` when it drains the handle. Stopping the loop keeps queued
// jobs for the next `run()`; closing it runs them until none is left (see `EventLoop.close()`).

/// An event loop's executor: a `SerialExecutor` (an actor may run on the loop) and a `TaskExecutor`
/// (a task may prefer the loop, and its non-isolated async code then runs on the loop thread).
///
/// ```swift
/// let loop = try EventLoop()
/// loop.task { loop in
///     try await loop.sleep(for: .milliseconds(10))
///     loop.preconditionOnLoop()          // resumed on the loop thread
/// }
/// // An actor on the loop:
/// actor Cache {
///     let executor: LoopExecutor
///     nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
///     init(loop: EventLoop) { executor = loop.executor }
/// }
/// ```
public final class LoopExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {  // safe: see below, loop-thread-only queues
    // Safety of `@unchecked Sendable`: `core` is itself thread-safe; `localJobs` and `spareJobs` are read and
    // written only on the loop thread (the enqueue path checks `core.isLoopThread` before touching them,
    // and only the loop runs, drains or closes them).
    let core: HandleCore
    // `@exclusivity(unchecked)`, as the loop's own tick state: read every tick, and no access to them spans
    // a call that could reach them again (jobs run from a local array, not from the property).
    /// Jobs to run in this tick's executor phase, in the order they were enqueued. Loop thread only.
    @exclusivity(unchecked) var localJobs: [UnownedJob] = []
    /// The storage of the last batch, swapped back in so a steady state does not reallocate. Loop thread only.
    @exclusivity(unchecked) private var spareJobs: [UnownedJob] = []
    /// How many jobs one executor phase runs at most before the loop polls again (the rest run in the next
    /// tick, without blocking): a task that keeps yielding must not starve I/O and timers.
    static let jobsPerTick = 4096
    /// Set when the loop closed: no tick will run `localJobs` again. Loop thread only.
    @exclusivity(unchecked) private var isClosed = false
    /// Set by `runResumed` while it resumes a task: the job that resumption enqueues is kept here, to run
    /// at once, instead of joining `localJobs`. Loop thread only.
    @exclusivity(unchecked) private var capturing = false
    @exclusivity(unchecked) private var captured: UnownedJob?

    init(core: HandleCore) {
        self.core = core
    }

    /// Queues a job: in the same tick when called on the loop thread, through the handle otherwise.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if core.isLoopThread && !isClosed {
            if capturing && captured == nil {
                captured = job
                return
            }
            localJobs.append(job)
        } else if !core.enqueue(executorJob: job) {
            Self.runOrphan(job)
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Called by the runtime (`assumeIsolated`, `preconditionIsolated`) when it cannot tell by itself.
    public func checkIsolated() {
        precondition(core.isLoopThread, "not on the event loop's thread (LoopExecutor.checkIsolated)")
    }

    public func isIsolatingCurrentContext() -> Bool? {
        core.isLoopThread
    }

    /// Whether jobs wait to run in this tick (read on the loop thread for the poll's timeout).
    var hasLocalJobs: Bool { !localJobs.isEmpty }

    /// The executor phase of a tick: runs queued jobs, and the jobs they queue, up to `jobsPerTick`.
    /// Returns how many ran.
    ///
    /// Each job runs on this executor as a task executor (the runtime then sees the generic executor with
    /// this preference as current), not isolated to it as a serial executor: the code of a task that
    /// prefers the loop is nonisolated, and every `await` into nonisolated code (a call, a continuation's
    /// return) checks whether it must switch. Seen as on a custom serial executor, which the runtime cannot
    /// "give up", each such check was a switch: one more enqueue and job per `await`, three per async
    /// request. Seen as on the generic executor with the same preference, none is. A job of an actor that
    /// declared the loop as its executor runs the same way, on the loop thread, one job at a time: its
    /// isolation holds, and the runtime's isolation checks ask `isIsolatingCurrentContext`, which says yes
    /// on the loop thread.
    @discardableResult
    func runLocalJobs() -> Int {
        var ran = 0
        let preferred = asUnownedTaskExecutor()
        while !localJobs.isEmpty && ran < Self.jobsPerTick {
            // Run from a local, not from the property: a job appends to `localJobs` while it runs.
            var jobs: [UnownedJob] = []
            swap(&jobs, &spareJobs)
            swap(&jobs, &localJobs)
            var index = 0
            while index < jobs.count {
                if ran == Self.jobsPerTick {
                    // Out of budget: what is left goes before the jobs queued meanwhile, in order.
                    localJobs.insert(contentsOf: jobs[index...], at: 0)
                    break
                }
                jobs[index].runSynchronously(on: preferred)
                index += 1
                ran += 1
            }
            jobs.removeAll(keepingCapacity: true)
            swap(&jobs, &spareJobs)
        }
        return ran
    }

    /// Resumes a task suspended on this loop (`resume` resumes its continuation) and runs it here and now,
    /// up to its next suspension or its end, instead of in the tick's executor phase: a callback that
    /// hands work to a waiting task (a connection's next message) gets it done inside the callback, as a
    /// synchronous callback would. Where that is not possible it only resumes, and the task runs in the
    /// executor phase as usual: off the loop thread, on a closed loop, or when called from inside a task
    /// (running one task's job inside another's would nest them on one thread).
    ///
    /// Running the job from here is what the executor phase does too (`runLocalJobs`): the loop thread runs
    /// it, outside any other job, with this executor as its task executor.
    @usableFromInline
    package func runResumed(_ resume: () -> Void) {
        guard core.isLoopThread, !isClosed, !capturing, withUnsafeCurrentTask(body: { $0 == nil }) else {
            resume()
            return
        }
        capturing = true
        resume()
        capturing = false
        guard let job = captured else { return }
        captured = nil
        job.runSynchronously(on: asUnownedTaskExecutor())
    }

    /// The loop closed: `leftover` (jobs other threads sent meanwhile) and what is still queued here run
    /// elsewhere, as every later job.
    func close(leftover: [UnownedJob]) {
        isClosed = true
        var jobs: [UnownedJob] = []
        swap(&jobs, &localJobs)
        for job in jobs + leftover { Self.runOrphan(job) }
    }

    /// A job sent to a loop that is closed for good. No loop thread will ever run it, and dropping it
    /// would leave its task suspended for ever (a leak, and a caller awaiting it that never returns). It
    /// runs on the global concurrent executor instead: the task finishes, seeing the closed loop's errors.
    /// Loop-bound objects are finished by then (closed connections refuse work), which is why this is safe
    /// in practice; an actor that declared a closed loop as its executor is a program bug, and loses its
    /// serial execution here.
    private static func runOrphan(_ job: UnownedJob) {
        globalConcurrentExecutor.enqueue(ExecutorJob(job))
    }
}
