// Timers: on a manual clock and a scripted backend (no real time passes), then a few on real backends.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

private let millisecond: UInt64 = 1_000_000

@Suite("EventLoop timers")
struct EventLoopTimerTests {
    // MARK: - Order

    @Test func firesInDeadlineOrder() throws {
        let (loop, backend, clock) = try makeScriptedLoop()
        let start = clock.now
        var fired: [(String, UInt64)] = []
        try loop.addTimer(after: 0.3) { fired.append(("0.3", clock.now - start)) }
        try loop.addTimer(after: 0.1) { fired.append(("0.1", clock.now - start)) }
        try loop.addTimer(after: 0.2) { fired.append(("0.2", clock.now - start)) }
        #expect(loop.timerCount == 3)

        try loop.run()

        #expect(fired.map(\.0) == ["0.1", "0.2", "0.3"])
        #expect(fired.map(\.1) == [100 * millisecond, 200 * millisecond, 300 * millisecond])
        // Each poll waited exactly until the next deadline; the last tick had nothing left and did not poll.
        #expect(backend.timeouts == Array(repeating: .nanoseconds(100 * millisecond), count: 3))
        expectNoLeaks(loop)
    }

    @Test func equalDeadlinesFireInSchedulingOrder() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var fired: [Int] = []
        for index in 0..<8 {
            try loop.addTimer(after: 0.1) { fired.append(index) }
        }
        try loop.addTimer(after: 0.05) { fired.append(-1) }
        try loop.run()
        #expect(fired == [-1, 0, 1, 2, 3, 4, 5, 6, 7])
        expectNoLeaks(loop)
    }

    // MARK: - Once and repeating

    @Test func onceFiresOnceAndRepeatingKeepsFiring() throws {
        let (loop, _, clock) = try makeScriptedLoop()
        let start = clock.now
        var onceTimes: [UInt64] = []
        var repeatTimes: [UInt64] = []
        try loop.addTimer(after: 0.25) { onceTimes.append(clock.now - start) }
        var repeating: TimerID?
        repeating = try loop.addTimer(every: 0.1) {
            repeatTimes.append(clock.now - start)
            if repeatTimes.count == 5 { loop.cancelTimer(repeating!) }
        }
        #expect(loop.timerCount == 2)

        try loop.run()

        #expect(onceTimes == [250 * millisecond])
        #expect(repeatTimes == [100, 200, 300, 400, 500].map { $0 * millisecond })
        expectNoLeaks(loop)
    }

    @Test func repeatingTimerFiresAtMostOncePerTickAndIsRequeuedFromNow() throws {
        let (loop, backend, clock) = try makeScriptedLoop(advancing: false)
        var count = 0
        let id = try loop.addTimer(every: 0.1) { count += 1 }

        // Ten intervals pass at once (a stalled process): one run, not a burst of ten.
        clock.advance(by: .seconds(1))
        try loop.tick()
        #expect(count == 1)
        #expect(backend.timeouts.last == .nanoseconds(100 * millisecond), "re-queued at now + interval")

        try loop.tick()
        #expect(count == 1, "not due again within the same instant")

        clock.advance(by: .milliseconds(100))
        try loop.tick()
        #expect(count == 2)

        #expect(loop.cancelTimer(id))
        expectNoLeaks(loop)
    }

    @Test func repeatingTimerIsRequeuedAfterItsCallback() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var fired: [String] = []
        var repeating: TimerID?
        repeating = try loop.addTimer(every: 0.1) {
            fired.append("repeat")
            #expect(loop.timerCount >= 1, "a repeating timer stays live while it runs")
            if fired.count == 1 {
                // Same deadline as the re-queued run (now + 0.1), but scheduled first: it fires first.
                _ = try loop.addTimer(after: 0.1) { fired.append("added in callback") }
            } else {
                loop.cancelTimer(repeating!)
            }
        }
        try loop.run()
        #expect(fired == ["repeat", "added in callback", "repeat"])
        expectNoLeaks(loop)
    }

    @Test func zeroDelayTimerAddedByATimerRunsInTheNextTick() throws {
        let (loop, backend, _) = try makeScriptedLoop(advancing: false)
        var fired: [String] = []
        try loop.addTimer(after: 0) {
            fired.append("first")
            _ = try loop.addTimer(after: 0) { fired.append("second") }
        }

        try loop.tick()
        #expect(fired == ["first"], "a timer added during the timer phase waits for the next one")
        #expect(backend.timeouts.last == .immediate, "and the poll does not block for it")

        try loop.tick()
        #expect(fired == ["first", "second"])
        expectNoLeaks(loop)
    }

    @Test func timerThatReArmsItselfWithZeroDelayDoesNotStarveTheLoop() throws {
        let (loop, backend, _) = try makeScriptedLoop(advancing: false)
        var runs = 0
        func arm() throws {
            try loop.addTimer(after: 0) {
                runs += 1
                try arm()
            }
        }
        try arm()
        for tick in 1...3 {
            try loop.tick()
            #expect(runs == tick, "once per tick")
        }
        #expect(backend.timeouts == [.immediate, .immediate, .immediate])
        loop.cancelAllTimers()
        expectNoLeaks(loop)
    }

    // MARK: - Cancel

    /// A timer cancelling itself from its own callback: harmless for a one-shot (finished once it runs, so
    /// the cancel answers false), and the end of a repeating one (the cancel answers true).
    @Test(arguments: [false, true])
    func cancellingATimerFromItsOwnCallback(repeating: Bool) throws {
        let (loop, _, _) = try makeScriptedLoop()
        var runs = 0
        var result: Bool?
        var id: TimerID?
        let callback = {
            runs += 1
            result = loop.cancelTimer(id!)
            if repeating { #expect(loop.timerCount == 0) }
        }
        id = repeating ? try loop.addTimer(every: 0.1, callback) : try loop.addTimer(after: 0.1, callback)
        try loop.run()  // returns: nothing is left once the timer ran or cancelled itself
        #expect(runs == 1)
        #expect(
            result == repeating,
            repeating ? "a repeating timer is live in its callback" : "a one-shot timer is finished once it runs"
        )
        if repeating { #expect(!loop.cancelTimer(id!)) }
        expectNoLeaks(loop)
    }

    @Test func aTimerCancelledByAnEarlierOneInTheSameTickDoesNotRun() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var fired: [String] = []
        var second: TimerID?
        try loop.addTimer(after: 0.1) {
            fired.append("first")
            #expect(loop.cancelTimer(second!))
        }
        second = try loop.addTimer(after: 0.1) { fired.append("second") }
        try loop.run()
        #expect(fired == ["first"])
        expectNoLeaks(loop)
    }

    @Test func cancelAllTimersFromOutside() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        var fired = 0
        for delay in [0.1, 0.2, 0.3] { try loop.addTimer(after: delay) { fired += 1 } }
        try loop.addTimer(every: 0.05) { fired += 1 }
        #expect(loop.timerCount == 4)
        loop.cancelAllTimers()
        #expect(loop.timerCount == 0)
        #expect(!loop.hasWork)
        try loop.run()
        #expect(fired == 0)
        #expect(backend.timeouts.isEmpty, "nothing to wait for: run returned without polling")
        expectNoLeaks(loop)
    }

    @Test func cancelAllTimersFromInsideARepeatingCallback() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var fired: [String] = []
        try loop.addTimer(after: 0.5) { fired.append("later") }
        try loop.addTimer(every: 0.1) {
            fired.append("repeat")
            loop.cancelAllTimers()
            #expect(loop.timerCount == 0)
        }
        try loop.addTimer(after: 0.1) { fired.append("same tick, after") }
        try loop.run()
        #expect(fired == ["repeat"], "the repeating timer is not re-queued, the others never run")
        expectNoLeaks(loop)
    }

    @Test func timerCountFollowsLiveTimers() throws {
        let (loop, _, clock) = try makeScriptedLoop(advancing: false)
        #expect(loop.timerCount == 0)
        let once = try loop.addTimer(after: 0.1) {}
        let repeating = try loop.addTimer(every: 0.1) {}
        #expect(loop.timerCount == 2)
        clock.advance(by: .milliseconds(100))
        try loop.tick()
        #expect(loop.timerCount == 1, "the one-shot timer finished")
        #expect(!loop.cancelTimer(once))
        #expect(loop.cancelTimer(repeating))
        #expect(loop.timerCount == 0)
        expectNoLeaks(loop)
    }

    // MARK: - Intervals

    @Test func fractionalSeconds() throws {
        let (loop, backend, clock) = try makeScriptedLoop()
        let start = clock.now
        var firedAt: UInt64?
        try loop.addTimer(after: 0.0015) { firedAt = clock.now - start }
        try loop.run()
        #expect(firedAt == 1_500_000)
        #expect(backend.timeouts == [.nanoseconds(1_500_000)])

        var times: [UInt64] = []
        let base = clock.now
        var id: TimerID?
        id = try loop.addTimer(every: 0.25) {
            times.append(clock.now - base)
            if times.count == 3 { loop.cancelTimer(id!) }
        }
        try loop.run()
        #expect(times == [250, 500, 750].map { $0 * millisecond })
        expectNoLeaks(loop)
    }

    @Test func durationOverloads() throws {
        let (loop, backend, clock) = try makeScriptedLoop()
        let start = clock.now
        var fired: [(String, UInt64)] = []
        try loop.addTimer(after: .milliseconds(1500)) { fired.append(("after", clock.now - start)) }
        var id: TimerID?
        id = try loop.addTimer(every: .microseconds(400_000)) {
            fired.append(("every", clock.now - start))
            if fired.count >= 4 { loop.cancelTimer(id!) }
        }
        #expect(backend.timeouts.isEmpty)
        try loop.run()
        #expect(fired.map(\.0) == ["every", "every", "every", "after", "every"])
        #expect(fired.map(\.1) == [400, 800, 1200, 1500, 1600].map { $0 * millisecond })

        #expect(throws: EventLoopError.self) { try loop.addTimer(after: .milliseconds(-1)) {} }
        #expect(throws: EventLoopError.self) { try loop.addTimer(every: Duration.zero) {} }
        expectNoLeaks(loop)
    }

    @Test(arguments: [-1.0, -0.001, .nan, .infinity, -.infinity])
    func invalidDelaysAreRefused(seconds: Double) throws {
        let (loop, _, _) = try makeScriptedLoop()
        for repeating in [false, true] {
            let error = #expect(throws: EventLoopError.self) {
                if repeating {
                    try loop.addTimer(every: seconds) {}
                } else {
                    try loop.addTimer(after: seconds) {}
                }
            }
            #expect(error?.code == .invalidInterval)
            #expect(error?.description.contains("add timer") == true)
        }
        #expect(loop.timerCount == 0)
        expectNoLeaks(loop)
    }

    @Test func aRepeatingZeroIntervalIsRefusedButAZeroDelayIsNot() throws {
        let (loop, _, _) = try makeScriptedLoop()
        let error = #expect(throws: EventLoopError.self) { try loop.addTimer(every: 0) {} }
        #expect(error?.code == .invalidInterval)
        #expect(error?.description.contains("repeating") == true, "\(String(describing: error))")

        var ran = false
        try loop.addTimer(after: 0) { ran = true }
        try loop.run()
        #expect(ran)
        expectNoLeaks(loop)
    }

    // MARK: - Poll timeouts

    @Test func pollTimeoutIsTheTimeToTheNextDeadline() throws {
        let (loop, backend, clock) = try makeScriptedLoop(advancing: false)
        let id = try loop.addTimer(after: 0.3) {}
        try loop.tick()
        #expect(backend.timeouts == [.nanoseconds(300 * millisecond)])
        clock.advance(by: .milliseconds(120))
        try loop.tick()
        #expect(backend.timeouts.last == .nanoseconds(180 * millisecond))
        let sooner = try loop.addTimer(after: 0.01) {}
        try loop.tick()
        #expect(backend.timeouts.last == .nanoseconds(10 * millisecond), "the earliest deadline wins")
        loop.cancelTimer(sooner)
        loop.cancelTimer(id)
        expectNoLeaks(loop)
    }

    @Test func pollDoesNotBlockWhileNextTickJobsArePending() throws {
        let (loop, backend, _) = try makeScriptedLoop(advancing: false)
        let id = try loop.addTimer(after: 10) {}
        var ran = false
        loop.nextTick { ran = true }
        try loop.tick()
        #expect(ran)
        #expect(backend.timeouts == [.immediate])
        try loop.tick()
        #expect(backend.timeouts.last == .nanoseconds(10_000 * millisecond))
        loop.cancelTimer(id)
        expectNoLeaks(loop)
    }

    @Test func pollBlocksIndefinitelyWhenNothingIsScheduled() throws {
        let (loop, backend, _) = try makeScriptedLoop(advancing: false)
        try loop.tick()
        #expect(backend.timeouts == [.indefinite])
        expectNoLeaks(loop)
    }

    // MARK: - Errors

    @Test func aThrowingTimerIsReportedAndTheLoopGoesOn() throws {
        let (loop, _, _) = try makeScriptedLoop()
        var reported: [any Error] = []
        loop.errorHandler = { reported.append($0) }
        var runs = 0
        var repeating: TimerID?
        repeating = try loop.addTimer(every: 0.1) {
            runs += 1
            if runs == 3 { loop.cancelTimer(repeating!) }
            throw TestFailure("timer \(runs)")
        }
        var after = false
        try loop.addTimer(after: 0.5) { after = true }

        try loop.run()

        #expect(runs == 3, "a repeating timer that throws keeps repeating")
        #expect(after)
        #expect(loop.callbackErrorCount == 3)
        #expect(reported.count == 3)
        let failure = try #require(reported.first as? CallbackFailure)
        #expect(failure.callback == .timer)
        #expect(failure.subject == repeating!.rawValue)
        #expect(failure.error as? TestFailure == TestFailure("timer 1"))
        #expect(failure.description.contains("timer 1"))
        expectNoLeaks(loop)
    }

    // MARK: - Real time, real backends

    @Test(arguments: BackendKind.available)
    func timersFireOnARealClockAndRunUntilIdleReturns(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let watchdog = try ThreadWatchdog(loop.handle)
        let start = MonotonicClock.now()
        var firedAfter: UInt64?
        var repeats = 0
        try loop.addTimer(after: 0.02) { firedAfter = MonotonicClock.now() - start }
        var id: TimerID?
        id = try loop.addTimer(every: 0.005) {
            repeats += 1
            if repeats == 3 { loop.cancelTimer(id!) }
        }

        try loop.run(.untilIdle)

        #expect(!watchdog.disarm(), "run(.untilIdle) must return once the last timer fired")
        let elapsed = try #require(firedAfter)
        #expect(elapsed >= 20 * millisecond, "never early")
        #expect(repeats == 3)
        expectNoLeaks(loop)
    }
}
