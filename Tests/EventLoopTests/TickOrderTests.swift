// The tick order written at the top of EventLoop.swift: timers → poll → I/O → next-tick jobs → signals, checked
// by recording what runs in one tick on a scripted backend. The same order with a real signal and real
// descriptors is `EventLoopSignalTests.oneTickRunsEveryPhaseInTheDocumentedOrder` (signals are process-wide,
// so that test lives in the serialized signal suite).

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

@Suite("Tick order")
struct TickOrderTests {
    /// A scripted loop whose polls are recorded into `order`.
    private func makeRecordedLoop() throws -> (EventLoop, ScriptedBackend, ProbeBackend) {
        let clock = ManualClock()
        let scripted = ScriptedBackend(clock: clock)
        let probe = ProbeBackend(scripted)
        return (try EventLoop(backend: probe, clock: clock), scripted, probe)
    }

    @Test func timersThenPollThenIOThenNextTickJobs() throws {
        let (loop, backend, probe) = try makeRecordedLoop()
        var order: [String] = []
        probe.willPoll = { _ in order.append("poll") }
        try loop.watch(5100, for: .readable) { _ in
            order.append("io")
            loop.nextTick { order.append("nextTick from io") }
        }
        try loop.addTimer(after: 0) {
            order.append("timer")
            loop.nextTick {
                order.append("nextTick from timer")
                loop.nextTick { order.append("nextTick from nextTick") }
            }
        }
        backend.script([(fd: 5100, events: .readable)])

        try loop.tick()
        #expect(order == ["timer", "poll", "io", "nextTick from timer", "nextTick from io"])
        #expect(backend.timeouts == [.immediate], "next-tick work was queued: the poll must not block")

        order.removeAll()
        try loop.tick()
        #expect(order == ["poll", "nextTick from nextTick"], "a job queued by a job waits for the next tick")

        loop.unwatch(5100)
        expectNoLeaks(loop)
    }

    @Test func handleJobsRunInTheIOPhaseInTheBackendsOrder() throws {
        let (loop, backend, _) = try makeRecordedLoop()
        var order: [String] = []
        // Before any user descriptor, the only registration is the handle's wake-up descriptor.
        let wakeFD = try #require(backend.registered.keys.first)
        try loop.watch(5101, for: .readable) { _ in order.append("io") }
        let jobRan = AtomicFlag()
        loop.handle.execute { loop in
            jobRan.set()
            loop.nextTick {}
        }
        loop.nextTick { order.append(jobRan.isSet ? "nextTick after job" : "nextTick before job") }
        backend.script([(fd: 5101, events: .readable), (fd: wakeFD, events: .readable)])

        try loop.tick()
        #expect(order == ["io", "nextTick after job"])
        #expect(jobRan.isSet)

        loop.unwatch(5101)
        expectNoLeaks(loop)
    }

    @Test func nextTickJobsKeepRunUntilIdleGoingWithoutBlocking() throws {
        let (loop, backend, _) = try makeRecordedLoop()
        var ran: [Int] = []
        loop.nextTick {
            ran.append(1)
            loop.nextTick {
                ran.append(2)
                loop.nextTick { ran.append(3) }
            }
        }
        #expect(loop.hasWork)
        try loop.run(.untilIdle)
        #expect(ran == [1, 2, 3])
        #expect(backend.timeouts == [.immediate, .immediate, .immediate], "one job per tick, never blocking")
        expectNoLeaks(loop)
    }

    @Test func aThrowingNextTickJobIsReportedAndTheOthersStillRun() throws {
        let (loop, _, _) = try makeRecordedLoop()
        var reported: [any Error] = []
        loop.errorHandler = { reported.append($0) }
        var ran: [String] = []
        loop.nextTick { throw TestFailure("job") }
        loop.nextTick { ran.append("after") }
        try loop.tick()
        #expect(ran == ["after"])
        #expect(loop.callbackErrorCount == 1)
        let failure = try #require(reported.first as? CallbackFailure)
        #expect(failure.callback == .deferred)
        #expect(failure.error as? TestFailure == TestFailure("job"))
        expectNoLeaks(loop)
    }

    @Test func timersDueLaterInTheTickWaitForTheNextTick() throws {
        // A timer that comes due while the tick runs (here: during the poll) fires at the start of the next
        // tick, before that tick's poll.
        let (loop, _, probe) = try makeRecordedLoop()
        var order: [String] = []
        probe.willPoll = { _ in order.append("poll") }
        try loop.addTimer(after: 0.5) { order.append("timer") }
        try loop.tick()  // the poll waits 0.5 s on the manual clock
        try loop.tick()  // a lone tick always polls, here with nothing left to wait for
        #expect(order == ["poll", "timer", "poll"])
        expectNoLeaks(loop)
    }
}
