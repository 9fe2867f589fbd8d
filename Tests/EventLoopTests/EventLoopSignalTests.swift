// Signals: process-wide, so every test that touches one is in this one serialized suite, uses only SIGUSR1
// and SIGUSR2 (no other test in this target does), and leaves no signal routed: a signal that arrives after
// its disposition is back to the default ends the test process.
//
// `kill(getpid(), …)` is a process-directed signal: any thread that does not block it may run the handler, a
// little later. Tests that need the signal handled before the next line use `raiseNow`: the test threads block
// SIGUSR1/SIGUSR2 (as Dispatch's worker threads do), so it unblocks the signal in the calling thread for the
// moment and raises it there; the handler has run when it returns. A signal is only unwatched after its
// watcher saw it.

import Testing
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Whether `signal` has its default disposition in this process.
private func hasDefaultDisposition(_ signal: CInt) -> Bool {
    var current = sigaction()
    guard sigaction(signal, nil, &current) == 0 else { return false }
    return current.__sigaction_handler.sa_handler == nil  // SIG_DFL
}

/// Raises `signal` at the calling thread with the signal unblocked there for the moment, so its handler has
/// run when this returns.
private func raiseNow(_ signal: CInt) -> Bool {
    var only = sigset_t()
    sigemptyset(&only)
    sigaddset(&only, signal)
    var previous = sigset_t()
    guard pthread_sigmask(SIG_UNBLOCK, &only, &previous) == 0 else { return false }
    let raised = raise(signal) == 0
    pthread_sigmask(SIG_SETMASK, &previous, nil)
    return raised
}

@Suite("EventLoop signals", .serialized)
struct EventLoopSignalTests {
    @Test(arguments: BackendKind.available)
    func aWatcherRunsOnTheLoopThreadAfterKill(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let watchdog = try Watchdog(loop)
        let testThread = pthread_self()
        var received: [CInt] = []
        var onLoopThread = false
        var activity: LoopActivity?
        try loop.watchSignal(SIGUSR1) { signal in
            received.append(signal)
            onLoopThread = pthread_equal(pthread_self(), testThread) != 0 && loop.inLoopThread
            activity = loop.activity
            loop.stop()
        }
        #expect(loop.watchedSignals == [SIGUSR1])
        #expect(!hasDefaultDisposition(SIGUSR1))

        #expect(kill(getpid(), SIGUSR1) == 0)
        try loop.run(.untilStopped)

        watchdog.disarm()
        #expect(!watchdog.fired)
        #expect(received == [SIGUSR1])
        #expect(onLoopThread)
        if case .running(let callback, let subject, _)? = activity {
            #expect(callback == ActivityCallback.signal.rawValue)
            #expect(subject == UInt64(SIGUSR1))
        } else {
            Issue.record("activity inside a signal watcher: \(String(describing: activity))")
        }

        #expect(loop.unwatchSignal(SIGUSR1))
        #expect(hasDefaultDisposition(SIGUSR1), "unwatching restores the default")
        #expect(!loop.unwatchSignal(SIGUSR1))
        expectNoLeaks(loop)
    }

    @Test func aSecondLoopCannotWatchASignalAnotherLoopWatches() throws {
        let first = try EventLoop()
        let second = try EventLoop()
        try first.watchSignal(SIGUSR2) { _ in }
        var error = #expect(throws: EventLoopError.self) { try second.watchSignal(SIGUSR2) { _ in } }
        #expect(error?.code == .signalUnavailable)
        #expect(error?.description.contains("signal \(SIGUSR2)") == true, "\(String(describing: error))")
        #expect(second.watchedSignals.isEmpty)

        try first.watchSignal(SIGUSR2) { _ in }  // the same loop may replace its own watcher
        #expect(first.watchedSignals == [SIGUSR2])

        #expect(first.unwatchSignal(SIGUSR2))
        #expect(hasDefaultDisposition(SIGUSR2))
        try second.watchSignal(SIGUSR2) { _ in }  // free again
        error = #expect(throws: EventLoopError.self) { try first.watchSignal(SIGUSR2) { _ in } }
        #expect(error?.code == .signalUnavailable)

        // Closing a loop that still watches a signal gives the signal back.
        second.close()
        #expect(hasDefaultDisposition(SIGUSR2), "close restores the default")
        #expect(second.watchedSignals.isEmpty)
        error = #expect(throws: EventLoopError.self) { try second.watchSignal(SIGUSR2) { _ in } }
        #expect(error?.code == .loopClosed)
        try first.watchSignal(SIGUSR2) { _ in }
        #expect(first.unwatchSignal(SIGUSR2))
        expectNoLeaks(first)
    }

    @Test(arguments: [SIGKILL, SIGSTOP, 0, -1, 64, 65])
    func uncatchableOrOutOfRangeSignalsAreRefused(signal: CInt) throws {
        let loop = try EventLoop()
        let error = #expect(throws: EventLoopError.self) { try loop.watchSignal(signal) { _ in } }
        #expect(error?.code == .signalUnavailable)
        #expect(error?.description.contains("signal \(signal)") == true)
        #expect(loop.watchedSignals.isEmpty)
        #expect(!loop.hasWork)
        expectNoLeaks(loop)
    }

    @Test func deliveriesBetweenTwoTicksRunEachWatcherOnceInSignalOrder() throws {
        let loop = try EventLoop()
        var received: [CInt] = []
        try loop.watchSignal(SIGUSR2) { received.append($0) }
        try loop.watchSignal(SIGUSR1) { received.append($0) }
        #expect(loop.watchedSignals == [SIGUSR1, SIGUSR2])

        #expect(raiseNow(SIGUSR2))
        #expect(raiseNow(SIGUSR1))
        #expect(raiseNow(SIGUSR2))
        try tickWithoutBlocking(loop)

        #expect(received == [SIGUSR1, SIGUSR2])
        #expect(loop.unwatchSignal(SIGUSR1))
        #expect(loop.unwatchSignal(SIGUSR2))
        #expect(hasDefaultDisposition(SIGUSR1) && hasDefaultDisposition(SIGUSR2))
        expectNoLeaks(loop)
    }

    @Test func aThrowingSignalWatcherIsReported() throws {
        let loop = try EventLoop()
        var reported: [any Error] = []
        loop.errorHandler = { reported.append($0) }
        try loop.watchSignal(SIGUSR1) { _ in throw TestFailure("signal") }
        #expect(raiseNow(SIGUSR1))
        try tickWithoutBlocking(loop)
        #expect(loop.callbackErrorCount == 1)
        let failure = try #require(reported.first as? CallbackFailure)
        #expect(failure.callback == .signal)
        #expect(failure.subject == UInt64(SIGUSR1))
        #expect(loop.watchedSignals == [SIGUSR1], "still watched")
        #expect(loop.unwatchSignal(SIGUSR1))
        expectNoLeaks(loop)
    }

    /// The whole tick order in one tick, signals included: timers → poll → I/O → next tick → signals.
    @Test(arguments: BackendKind.available)
    func oneTickRunsEveryPhaseInTheDocumentedOrder(kind: BackendKind) throws {
        let (loop, probe) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        writeBytes(pipe.write)
        var order: [String] = []
        probe.willPoll = { _ in order.append("poll") }
        try loop.watchSignal(SIGUSR2) { _ in order.append("signal") }
        try loop.watch(pipe.read, for: .readable) { _ in
            order.append("io")
            drain(pipe.read)
        }
        try loop.addTimer(after: 0) {
            order.append("timer")
            #expect(raiseNow(SIGUSR2))
            loop.nextTick { order.append("nextTick") }
        }

        try loop.tick()

        #expect(order == ["timer", "poll", "io", "nextTick", "signal"])
        #expect(probe.polls.count == 1)
        loop.unwatch(pipe.read)
        #expect(loop.unwatchSignal(SIGUSR2))
        expectNoLeaks(loop)
    }
}
