// The thread-safe handle: jobs from other threads (POSIX threads, no Dispatch) wake a loop blocked in poll,
// run exactly once, in order per producer, on the loop thread; stop from another thread; after close, refused.

import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Counts runs per job, from any thread.
private final class JobLedger: Sendable {
    private let runs: ThreadLock<(perJob: [Int], total: Int)>
    /// Per producer, the last job index seen (to check each producer's jobs run in order).
    private let lastIndex: ThreadLock<[Int]>
    private let wrongThread = Atomic<Int>(0)

    init(producers: Int, jobsEach: Int) {
        runs = ThreadLock((Array(repeating: 0, count: producers * jobsEach), 0))
        lastIndex = ThreadLock(Array(repeating: -1, count: producers))
    }

    /// Records one run; returns how many runs there have been in all.
    func record(producer: Int, index: Int, jobsEach: Int, onLoopThread: Bool) -> (total: Int, inOrder: Bool) {
        if !onLoopThread { wrongThread.add(1, ordering: .relaxed) }
        let inOrder = lastIndex.withLock { last in
            defer { last[producer] = index }
            return last[producer] == index - 1
        }
        let total = runs.withLock { runs in
            runs.perJob[producer * jobsEach + index] += 1
            runs.total += 1
            return runs.total
        }
        return (total, inOrder)
    }

    var counts: [Int] { runs.withLock { $0.perJob } }
    var wrongThreadRuns: Int { wrongThread.load(ordering: .relaxed) }
}

/// A loop under a watchdog, and a latch that opens when the loop is about to block in poll: the moment
/// another thread's job or stop must wake it.
private func loopAboutToBlock(_ kind: BackendKind) throws -> (loop: EventLoop, watchdog: Watchdog, inPoll: Latch) {
    let (loop, probe) = try makeLoop(kind)
    let watchdog = try Watchdog(loop)
    let inPoll = Latch()
    probe.willPoll = { timeout in
        if timeout != .immediate { inPoll.open() }
    }
    return (loop, watchdog, inPoll)
}

@Suite("EventLoop handle")
struct EventLoopHandleTests {
    /// Another thread waits until the loop is inside a blocking poll, then sends a job: the job must wake it.
    @Test(arguments: BackendKind.available)
    func aJobFromAnotherThreadWakesALoopBlockedInPoll(kind: BackendKind) throws {
        let (loop, watchdog, inPoll) = try loopAboutToBlock(kind)
        let handle = loop.handle
        let ran = AtomicFlag()
        let sentFromOtherThread = AtomicFlag()
        let thread = try startThread {
            guard inPoll.wait() else { return }
            if !handle.inLoopThread { sentFromOtherThread.set() }
            handle.execute { loop in
                if loop.inLoopThread && handle.inLoopThread { ran.set() }
                loop.stop()
            }
        }

        try loop.run(.untilStopped)
        thread.join()

        watchdog.disarm()
        #expect(!watchdog.fired, "the job did not wake the loop")
        #expect(ran.isSet, "the job ran on the loop thread")
        #expect(sentFromOtherThread.isSet)
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func manyThreadsTimesManyJobsRunExactlyOnceInOrderPerThread(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let watchdog = try Watchdog(loop)
        let producers = 4
        let jobsEach = 500
        let ledger = JobLedger(producers: producers, jobsEach: jobsEach)
        let outOfOrder = AtomicFlag()
        let refused = AtomicFlag()
        let handle = loop.handle
        var threads: [BackgroundThread] = []
        for producer in 0..<producers {
            threads.append(
                try startThread {
                    for index in 0..<jobsEach {
                        let accepted = handle.execute { loop in
                            let (total, inOrder) = ledger.record(
                                producer: producer,
                                index: index,
                                jobsEach: jobsEach,
                                onLoopThread: loop.inLoopThread
                            )
                            if !inOrder { outOfOrder.set() }
                            if total == producers * jobsEach { loop.stop() }
                        }
                        if !accepted { refused.set() }
                    }
                }
            )
        }

        try loop.run(.untilStopped)
        for thread in threads { thread.join() }

        watchdog.disarm()
        #expect(!watchdog.fired)
        #expect(!refused.isSet)
        #expect(ledger.counts == Array(repeating: 1, count: producers * jobsEach), "each job exactly once")
        #expect(!outOfOrder.isSet, "each thread's jobs in the order it sent them")
        #expect(ledger.wrongThreadRuns == 0)
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func stopFromAnotherThreadStopsALoopRunningUntilStopped(kind: BackendKind) throws {
        let (loop, watchdog, inPoll) = try loopAboutToBlock(kind)
        let handle = loop.handle
        let accepted = AtomicFlag()
        let thread = try startThread {
            guard inPoll.wait() else { return }
            if handle.stop() { accepted.set() }
        }

        try loop.run(.untilStopped)
        thread.join()

        watchdog.disarm()
        #expect(!watchdog.fired, "handle.stop() did not stop the loop")
        #expect(accepted.isSet)
        expectNoLeaks(loop)
    }

    @Test func jobsSentBeforeRunRunInTheFirstTickAndKeepUntilIdleGoing() throws {
        let loop = try EventLoop()
        let jobRan = AtomicFlag()
        let nextTickRanAfterJob = AtomicFlag()
        loop.handle.execute { loop in
            jobRan.set()
            loop.nextTick { if jobRan.isSet { nextTickRanAfterJob.set() } }
        }
        #expect(!loop.hasWork, "handle jobs are not 'work' until they run")
        try loop.run(.untilIdle)
        #expect(jobRan.isSet)
        #expect(nextTickRanAfterJob.isSet, "run(.untilIdle) went on for the job's own next-tick job")
        expectNoLeaks(loop)
    }

    @Test func executeAndStopAfterCloseAreRefusedAndQueuedJobsAreDropped() throws {
        final class Token: Sendable {}
        let loop = try EventLoop()
        let handle = loop.handle
        weak var weakToken: Token?
        do {
            let token = Token()
            weakToken = token
            #expect(handle.execute { _ in _ = token })
        }
        #expect(weakToken != nil, "queued")
        loop.close()
        #expect(weakToken == nil, "a job queued when the loop closed is released without running")
        #expect(!handle.execute { _ in Issue.record("ran after close") })
        #expect(!handle.stop())
        let error = #expect(throws: EventLoopError.self) { try loop.run() }
        #expect(error?.code == .loopClosed)
    }

    @Test func inLoopThread() throws {
        let loop = try EventLoop()
        let handle = loop.handle
        #expect(loop.inLoopThread, "a loop that is not running may be configured from any thread")
        #expect(!handle.inLoopThread, "no thread runs it yet")

        let fromOtherThread = Shared<Bool?>(nil)
        var insideTimer: (loop: Bool, handle: Bool)?
        try loop.addTimer(after: 0) {
            insideTimer = (loop.inLoopThread, handle.inLoopThread)
            // Asked from another thread while the loop runs: false.
            if let thread = try? startThread({ fromOtherThread.set(handle.inLoopThread) }) {
                thread.join()
            }
        }
        try loop.run()

        #expect(insideTimer?.loop == true)
        #expect(insideTimer?.handle == true)
        #expect(fromOtherThread.current == false)
        #expect(!handle.inLoopThread, "unbound again once run returns")
        expectNoLeaks(loop)
    }

    @Test func handlesOfOneLoopAreEqual() throws {
        let one = try EventLoop()
        let other = try EventLoop()
        #expect(one.handle == one.handle)
        #expect(one.handle.hashValue == one.handle.hashValue)
        #expect(one.handle != other.handle)
        expectNoLeaks(one)
        expectNoLeaks(other)
    }
}
