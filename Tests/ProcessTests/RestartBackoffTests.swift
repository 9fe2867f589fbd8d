// The supervisor's restart decisions, with the times given as numbers: restart at once after a child
// that lived, back off 0.1 s, 0.2 s, 0.4 s … up to 10 s for one that keeps dying at start, and forget
// the back-off once a child lives past the window. No child process dies for these tests.

import Testing

@testable import WorkermanProcess

@Suite("RestartBackoff")
struct RestartBackoffTests {
    static let second: UInt64 = 1_000_000_000

    @Test("a child that lived past the window is restarted at once, every time")
    func longLivedChildren() {
        var backoff = RestartBackoff()
        var now: UInt64 = 5 * Self.second
        for _ in 0..<5 {
            backoff.started(at: now)
            now += 2 * Self.second
            #expect(backoff.exited(at: now) == .restartNow)
            #expect(backoff.quickDeaths == 0)
        }
    }

    @Test("quick deaths: the first is forgiven, then 0.1 s doubling up to the 10 s ceiling")
    func quickDeathsBackOff() {
        var backoff = RestartBackoff()
        var now: UInt64 = Self.second
        var decisions: [RestartBackoff.Decision] = []
        for _ in 0..<10 {
            backoff.started(at: now)
            now += Self.second / 10
            decisions.append(backoff.exited(at: now))
        }
        let expected: [RestartBackoff.Decision] = [
            .restartNow, .restart(afterSeconds: 0.1), .restart(afterSeconds: 0.2), .restart(afterSeconds: 0.4),
            .restart(afterSeconds: 0.8), .restart(afterSeconds: 1.6), .restart(afterSeconds: 3.2),
            .restart(afterSeconds: 6.4), .restart(afterSeconds: 10), .restart(afterSeconds: 10),
        ]
        #expect(decisions == expected)
    }

    @Test("the window's edge: one nanosecond short is quick, exactly the window is not")
    func windowEdge() {
        var backoff = RestartBackoff()
        backoff.started(at: 0)
        #expect(backoff.exited(at: backoff.quickExitWindow - 1) == .restartNow)
        backoff.started(at: 10 * Self.second)
        #expect(backoff.exited(at: 10 * Self.second + backoff.quickExitWindow - 1) == .restart(afterSeconds: 0.1))
        backoff.started(at: 20 * Self.second)
        #expect(backoff.exited(at: 20 * Self.second + backoff.quickExitWindow) == .restartNow)
        #expect(backoff.quickDeaths == 0)
    }

    @Test("a child that lives once resets the back-off")
    func recoveryResets() {
        var backoff = RestartBackoff()
        for start in 0..<4 {
            backoff.started(at: UInt64(start) * Self.second)
            _ = backoff.exited(at: UInt64(start) * Self.second + 1)
        }
        #expect(backoff.quickDeaths == 4)
        backoff.started(at: 10 * Self.second)
        #expect(backoff.exited(at: 100 * Self.second) == .restartNow)
        backoff.started(at: 200 * Self.second)
        #expect(backoff.exited(at: 200 * Self.second + 1) == .restartNow, "the first quick death is forgiven again")
    }

    @Test("a spawn that fails counts as a quick death; an exit the master asked for does not")
    func spawnFailuresAndRequestedExits() {
        var backoff = RestartBackoff()
        #expect(backoff.spawnFailed() == .restartNow)
        #expect(backoff.spawnFailed() == .restart(afterSeconds: 0.1))
        backoff.started(at: Self.second)
        #expect(backoff.exited(at: Self.second + 1, requested: true) == .restartNow)
        #expect(backoff.quickDeaths == 0)
    }

    @Test("a clock that reads earlier than the start does not trap: a quick death")
    func clockBeforeStart() {
        var backoff = RestartBackoff()
        backoff.started(at: 5 * Self.second)
        #expect(backoff.exited(at: Self.second) == .restartNow)
        #expect(backoff.quickDeaths == 1)
    }
}
