// The loop as a Swift concurrency executor: jobs queued on the loop thread run in the same tick, with no
// wake-up; a continuation resumed on another thread (as a SwiftNIO client or Task.sleep does) brings the
// task back to the loop thread; jobs keep their order against timers and next-tick jobs; a stopped loop
// keeps its jobs; a closed loop resumes its waiting tasks with `.loopClosed` and runs them to their end.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// An actor whose executor is a loop: its methods run on the loop thread.
private actor LoopCounter {
    let executor: LoopExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private(set) var count = 0
    private let handle: EventLoopHandle

    init(executor: LoopExecutor, handle: EventLoopHandle) {
        self.executor = executor
        self.handle = handle
    }

    /// Adds one; returns whether it ran on the loop thread.
    func increment() -> Bool {
        count += 1
        return handle.inLoopThread
    }
}

/// What a test records from the loop thread and from others.
private final class Record: Sendable {
    private let lines = ThreadLock<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite("Loop executor")
struct LoopExecutorTests {
    /// A task resumed by a next-tick job resumes in that same tick: the poll count does not move, so no
    /// wake-up (which only a later poll could see) was involved.
    @Test(arguments: BackendKind.available)
    func aTaskResumedOnTheLoopRunsInTheSameTick(kind: BackendKind) throws {
        let (loop, probe) = try makeLoop(kind)
        let harness = LoopHarness(loop: loop)
        var polls: [String: Int] = [:]
        var pending: LoopCompletion<Int>?
        // Two next-tick jobs of one tick: the first starts a task that suspends, the second resumes it.
        loop.nextTick {
            loop.task { loop in
                polls["started"] = probe.polls.count
                let value: Int = try await loop.withCompletion { completion in pending = completion }
                loop.preconditionOnLoop()
                polls["resumed"] = probe.polls.count
                polls["value"] = value
                harness.done()
            }
        }
        loop.nextTick { pending?.succeed(7) }
        #expect(try harness.run(timeout: 5))
        #expect(polls["value"] == 7)
        #expect(polls["started"] != nil)
        #expect(polls["resumed"] == polls["started"], "resumed in a later tick")
        #expect(harness.finish() == [])
    }

    /// The order inside one tick: timers, then next-tick jobs, then the task parts they resumed; a task
    /// starts synchronously, up to its first suspension.
    @Test func tasksRunAfterTimersAndNextTickJobsOfTheirTick() throws {
        let harness = try LoopHarness()
        let loop = harness.loop
        var order: [String] = []
        try loop.addTimer(after: 0) {
            order.append("timer 1")
            loop.task { loop in
                order.append("task starts")
                try await loop.withCompletion { (completion: LoopCompletion<Void>) in
                    loop.nextTick {
                        order.append("next tick")
                        completion.succeed(())
                    }
                }
                order.append("task resumed")
                try await loop.sleep(for: .milliseconds(1))
                order.append("task slept")
                harness.done()
            }
            order.append("timer 1 returns")
        }
        try loop.addTimer(after: 0) { order.append("timer 2") }
        #expect(try harness.run(timeout: 5))
        #expect(order == ["timer 1", "task starts", "timer 1 returns", "timer 2", "next tick", "task resumed", "task slept"])
        #expect(harness.finish() == [])
    }

    /// A continuation resumed on a plain POSIX thread (what a SwiftNIO-based client does), and a
    /// `Task.sleep` (whose timer fires on the runtime's threads), both come back to the loop thread.
    @Test func aContinuationResumedOnAForeignThreadResumesOnTheLoop() throws {
        let harness = try LoopHarness()
        let loop = harness.loop
        let record = Record()
        var threads: [BackgroundThread] = []
        // Started inside the running loop: a task started before `run()` runs on the starting thread.
        loop.nextTick {
            loop.task { loop in
                let value = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                    threads.append(try! BackgroundThread { continuation.resume(returning: 42) })
                }
                record.add("foreign resume \(value) on loop: \(loop.handle.inLoopThread)")
                try await Task.sleep(for: .milliseconds(2))
                record.add("Task.sleep on loop: \(loop.handle.inLoopThread)")
                loop.preconditionOnLoop()
                harness.done()
            }
        }
        #expect(try harness.run(timeout: 5))
        for thread in threads { thread.join() }
        #expect(record.all == ["foreign resume 42 on loop: true", "Task.sleep on loop: true"])
        #expect(harness.finish() == [])
    }

    /// An actor declaring the loop as its executor runs on the loop thread, whether called from a task on
    /// its loop or from a task on a second loop running on another thread (which gets its answer back on
    /// its own thread). No task here needs the global pool, which parallel tests may keep busy.
    @Test func anActorOnTheLoopRunsOnTheLoopThread() throws {
        let harness = try LoopHarness()
        let loop = harness.loop
        let counter = LoopCounter(executor: loop.executor, handle: loop.handle)
        let record = Record()
        let otherLoop = try EventLoop()
        let other = LoopBound(otherLoop, loop: otherLoop)  // idle until the thread runs it
        let otherThread = try BackgroundThread {
            let otherLoop = other.value
            _ = try? otherLoop.addTimer(after: 5) { otherLoop.stop() }
            otherLoop.task { otherLoop in
                let onLoop = await counter.increment()
                record.add("from another loop on loop: \(onLoop), back: \(otherLoop.handle.inLoopThread)")
                otherLoop.stop()
            }
            try? otherLoop.run(.untilStopped)
            otherLoop.cancelAllTimers()
            otherLoop.close()
        }
        loop.task { loop in
            let onLoop = await counter.increment()
            record.add("from the loop on loop: \(onLoop)")
        }
        #expect(try harness.run(until: { record.all.count == 2 }, within: 5))
        otherThread.join()
        #expect(Set(record.all) == ["from another loop on loop: true, back: true", "from the loop on loop: true"])
        #expect(harness.finish() == [])
    }

    /// Cancelling a task sleeping on the loop ends its sleep with CancellationError and cancels its timer.
    @Test func cancellingASleepingTaskCancelsItsTimer() throws {
        let harness = try LoopHarness()
        let loop = harness.loop
        var outcome = ""
        let task = loop.task { loop in
            do {
                try await loop.sleep(for: .seconds(60))
                outcome = "slept"
            } catch is CancellationError {
                outcome = "cancelled, isCancelled: \(Task.isCancelled)"
            }
            harness.done()
        }
        #expect(loop.timerCount == 1)
        let canceller = try BackgroundThread { task.cancel() }
        #expect(try harness.run(timeout: 5))
        canceller.join()
        #expect(outcome == "cancelled, isCancelled: true")
        #expect(harness.finish() == [], "the sleep's timer was left behind")
    }

    /// Jobs sent while the loop is stopped wait for its next run; none is lost.
    @Test func jobsQueuedWhileStoppedRunOnTheNextRun() throws {
        let harness = try LoopHarness()
        let loop = harness.loop
        let record = Record()
        let executor = loop.executor
        let sender = try BackgroundThread {
            for index in 0..<100 {
                Task(executorPreference: executor) { record.add("job \(index)") }
            }
        }
        sender.join()
        #expect(try harness.run(until: { record.all.count == 100 }, within: 5))
        #expect(Set(record.all).count == 100)
        #expect(harness.finish() == [])
    }

    /// Closing the loop resumes a task waiting on it with `.loopClosed`, and runs it to its end before
    /// `close()` returns: nothing stays suspended, nothing crashes.
    @Test func closingTheLoopResumesItsWaitingTasks() throws {
        let loop = try EventLoop()
        var outcomes: [String] = []
        for index in 0..<3 {
            loop.task { loop in
                do {
                    try await loop.sleep(for: .seconds(60))
                    outcomes.append("\(index) slept")
                } catch let error as EventLoopError {
                    outcomes.append("\(index) \(error.code)")
                }
            }
        }
        #expect(loop.timerCount == 3)  // the tasks started at once, and wait on their timers
        loop.close()
        #expect(outcomes.sorted() == ["0 loopClosed", "1 loopClosed", "2 loopClosed"])
    }

    /// A throwing start fails the await at once; a second completion is ignored.
    @Test func aCompletionAnswersOnce() throws {
        let harness = try LoopHarness()
        let loop = harness.loop
        var results: [String] = []
        loop.task { loop in
            do {
                let _: Int = try await loop.withCompletion { _ in throw TestFailure("start") }
            } catch let error as TestFailure {
                results.append("threw \(error.name)")
            }
            let value: Int = try await loop.withCompletion { completion in
                completion.succeed(1)
                completion.succeed(2)
                completion.fail(TestFailure())
            }
            results.append("value \(value)")
            harness.done()
        }
        #expect(try harness.run(timeout: 5))
        #expect(results == ["threw start", "value 1"])
        #expect(harness.finish() == [])
    }
}
