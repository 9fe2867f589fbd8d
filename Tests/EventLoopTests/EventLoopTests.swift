// Running and stopping a loop, what it says it is doing (activity), and closing it.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("EventLoop")
struct EventLoopTests {
    // MARK: - Run modes

    @Test(arguments: BackendKind.available)
    func runUntilIdleReturnsAtOnceWhenNothingIsWatchedOrScheduled(kind: BackendKind) throws {
        let (loop, probe) = try makeLoop(kind)
        #expect(!loop.hasWork)
        try loop.run(.untilIdle)
        #expect(probe.polls.isEmpty, "no poll at all")
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func runUntilIdleReturnsOnceTheLastWatcherIsGone(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let watchdog = try ThreadWatchdog(loop.handle)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        var calls = 0
        try loop.watch(pipe.read, for: .readable) { _ in
            calls += 1
            loop.unwatch(pipe.read)
        }
        #expect(loop.hasWork)
        writeBytes(pipe.write)
        try loop.run(.untilIdle)
        #expect(!watchdog.disarm())
        #expect(calls == 1)
        expectNoLeaks(loop)
    }

    @Test func runUntilStoppedKeepsWaitingWhenThereIsNothingToDo() throws {
        let clock = ManualClock()
        let probe = ProbeBackend(ScriptedBackend(clock: clock))
        let loop = try EventLoop(backend: probe, clock: clock)
        var idlePolls = 0
        probe.willPoll = { [unowned loop] timeout in
            #expect(timeout == .indefinite)
            idlePolls += 1
            if idlePolls == 3 { loop.stop() }
        }
        try loop.run(.untilStopped)
        #expect(idlePolls == 3, "it went on polling with nothing to do until stopped")
        expectNoLeaks(loop)
    }

    @Test func aStoppedLoopCanRunAgain() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var runs = 0
        var id: TimerID?
        id = try loop.addTimer(every: 0.1) {
            runs += 1
            loop.stop()
            if runs == 2 { loop.cancelTimer(id!) }
        }
        try loop.run(.untilStopped)
        #expect(runs == 1)
        try loop.run(.untilStopped)
        #expect(runs == 2)
        expectNoLeaks(loop)
    }

    @Test func aStopEndsOnlyTheRunItWasMeantFor() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        try loop.addTimer(after: 0) { loop.stop() }
        try loop.run(.untilStopped)
        #expect(backend.timeouts.isEmpty, "stopped in the timer phase, before polling")
        try loop.tick()
        #expect(backend.timeouts == [.indefinite], "a later tick polls as usual")
        expectNoLeaks(loop)
    }

    /// An idle loop makes one blocking poll and nothing else: no periodic wake-ups.
    @Test(arguments: BackendKind.available)
    func anIdleLoopMakesOneBlockingPoll(kind: BackendKind) throws {
        let (loop, probe) = try makeLoop(kind)
        let watchdog = try ThreadWatchdog(loop.handle)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        let inPoll = Latch()
        probe.willPoll = { _ in inPoll.open() }
        try loop.watch(pipe.read, for: .readable) { _ in
            drain(pipe.read)
            loop.unwatch(pipe.read)
            loop.stop()
        }
        let writeEnd = pipe.write
        let writer = try startThread {
            guard inPoll.wait() else { return }
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }
        try loop.run(.untilStopped)
        writer.join()
        #expect(!watchdog.disarm())
        #expect(probe.polls.map(\.timeout) == [.indefinite])
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func moreReadyDescriptorsThanOnePollReportsAreServedOverSeveralTicks(kind: BackendKind) throws {
        let loop = try EventLoop(backend: kind, maxEventsPerPoll: 1)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        var called: Set<CInt> = []
        var pipes: [(read: CInt, write: CInt)] = []
        for _ in 0..<3 {
            let pipe = try fds.pipe()
            pipes.append(pipe)
            try loop.watch(pipe.read, for: .readable) { _ in
                called.insert(pipe.read)
                drain(pipe.read)
            }
            writeBytes(pipe.write)
        }
        for _ in 0..<3 { try tickWithoutBlocking(loop) }
        #expect(called == Set(pipes.map(\.read)))
        for pipe in pipes { loop.unwatch(pipe.read) }
        expectNoLeaks(loop)
    }

    // MARK: - Activity

    @Test func activitySaysWhatTheLoopIsDoing() throws {
        let clock = ManualClock()
        let scripted = ScriptedBackend(clock: clock)
        let probe = ProbeBackend(scripted)
        let loop = try EventLoop(backend: probe, clock: clock)
        #expect(loop.activity == .idle)

        var seen: [String: LoopActivity] = [:]
        probe.willPoll = { [unowned loop] _ in
            if seen["poll"] == nil { seen["poll"] = loop.activity }
        }
        let wakeFD = try #require(scripted.registered.keys.first)
        let start = clock.now
        var timerID: TimerID?
        timerID = try loop.addTimer(after: 0) { seen["timer"] = loop.activity }
        try loop.watch(5200, for: .readable) { _ in
            seen["io"] = loop.activity
            loop.nextTick { seen["nextTick"] = loop.activity }
        }
        let inJob = Shared<LoopActivity?>(nil)
        loop.handle.execute { loop in inJob.set(loop.activity) }
        scripted.script([(fd: 5200, events: .readable), (fd: wakeFD, events: .readable)])

        try loop.tick()

        let timerCallback = ActivityCallback.timer.rawValue
        #expect(seen["timer"] == .running(callback: timerCallback, subject: timerID!.rawValue, since: start))
        #expect(seen["poll"] == .polling(since: start))
        #expect(seen["io"] == .running(callback: ActivityCallback.io.rawValue, subject: 5200, since: start))
        if case .running(let callback, _, _)? = seen["nextTick"] {
            #expect(callback == ActivityCallback.deferred.rawValue)
        } else {
            Issue.record("inside a next-tick job: \(String(describing: seen["nextTick"]))")
        }
        if case .running(let callback, _, _)? = inJob.current {
            #expect(callback == ActivityCallback.job.rawValue)
        } else {
            Issue.record("inside a handle job: \(String(describing: inJob.current))")
        }

        // A layer above names its own callback and subject.
        let onMessage = ActivityCallback(rawValue: 101, name: "onMessage")
        loop.noteActivity(onMessage, subject: 42)
        if case .running(let callback, let subject, _) = loop.activity {
            #expect(callback == 101)
            #expect(subject == 42)
        } else {
            Issue.record("after a tick, outside run: \(loop.activity)")
        }

        loop.unwatch(5200)
        try loop.run()  // nothing left: returns, and says so
        #expect(loop.activity == .idle)
        expectNoLeaks(loop)
    }

    // MARK: - Close

    @Test(arguments: BackendKind.available)
    func closingFromInsideACallbackEndsRun(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let watchdog = try ThreadWatchdog(loop.handle)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        try loop.watch(pipe.read, for: .readable) { _ in Issue.record("a closed loop dispatched an event") }
        writeBytes(pipe.write)
        try loop.addTimer(every: 0.001) { Issue.record("a closed loop ran a timer again") }
        try loop.addTimer(after: 0) { loop.close() }
        try loop.run(.untilStopped)
        #expect(!watchdog.disarm())
        #expect(loop.isClosed)
        #expect(loop.watchedCount == 0)
        #expect(loop.timerCount == 0)
        #expect(Glibc.fcntl(pipe.read, F_GETFD) != -1, "closing a loop does not close the descriptors it watched")
    }

    @Test(arguments: BackendKind.available)
    func aClosedLoopRefusesToRunOrTick(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        loop.close()
        loop.close()  // idempotent
        var error = #expect(throws: EventLoopError.self) { try loop.run() }
        #expect(error?.code == .loopClosed)
        error = #expect(throws: EventLoopError.self) { try loop.tick() }
        #expect(error?.code == .loopClosed)
    }

    @Test func closeReleasesEverythingButTheDescriptors() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        try loop.watch(5300, for: .readable) { _ in }
        try loop.addTimer(after: 1) {}
        loop.nextTick {}
        #expect(loop.hasWork)
        loop.close()
        #expect(backend.isClosed)
        #expect(loop.watchedCount == 0)
        #expect(loop.timerCount == 0)
        #expect(!loop.hasWork)
    }
}
