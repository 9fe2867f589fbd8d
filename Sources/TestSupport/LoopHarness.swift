import WorkermanEventLoop

/// One test's event loop: run until the test says it is done, under a guard so a test whose awaited event
/// never comes fails instead of hanging, and checked at the end for anything left registered.
///
/// It needs only `WorkermanEventLoop`; `LoopHarness+Transport.swift` adds servers and the connection check.
/// Failures are returned, not asserted, so the kit works with any test framework:
///
/// ```swift
/// let harness = try LoopHarness()
/// try loop.addTimer(after: 0.01) { harness.done() }
/// #expect(try harness.run(timeout: 5), "the guard fired")
/// #expect(harness.finish() == [])
/// ```
///
/// With a `ManualClock` the guard timer never comes due: use `run(until:within:)`, whose bound is wall
/// time whatever the loop's clock says.
public final class LoopHarness {
    public let loop: EventLoop
    /// Whether the guard stopped the last `run`.
    public private(set) var timedOut = false
    /// Set by `done()`, so a test that finishes before `run()` (inside a connect, say) does not wait.
    private var isDone = false
    private var teardowns: [() -> Void] = []

    /// Wraps `loop`, which the harness closes in `finish()`.
    public init(loop: EventLoop) {
        self.loop = loop
    }

    /// A new loop on `backend` reading `clock`.
    public convenience init(
        backend: BackendKind = .automatic,
        clock: any LoopClock = MonotonicClock()
    ) throws(EventLoopError) {
        self.init(loop: try EventLoop(backend: backend, clock: clock))
    }

    // MARK: - Running

    /// Runs the loop until `done()`, or until `timeout` seconds of loop time pass.
    ///
    /// - Returns: false when the guard stopped it (the test should fail).
    @discardableResult
    public func run(timeout: Double = 10) throws(EventLoopError) -> Bool {
        defer { isDone = false }
        guard !isDone else { return true }
        timedOut = false
        var guardTimer: TimerID?
        guardTimer = try loop.addTimer(after: timeout) { [unowned self] in
            self.timedOut = true
            guardTimer = nil
            self.loop.stop()
        }
        try loop.run(.untilStopped)
        if let guardTimer { loop.cancelTimer(guardTimer) }
        return !timedOut
    }

    /// Ends `run()` after the current tick (or makes the next `run()` return at once).
    public func done() {
        isDone = true
        loop.stop()
    }

    /// Runs the loop until `condition` holds, for at most `seconds` of wall time, checking it before the
    /// first tick and after each one.
    ///
    /// A timer every `interval` (of the loop's clock) bounds each poll, so no tick blocks for long even
    /// when nothing happens; under a `ManualClock` it never comes due, and its remaining time, which
    /// never shrinks, is the bound.
    ///
    /// - Returns: Whether the condition held in time.
    @discardableResult
    public func run(
        until condition: () -> Bool,
        within seconds: Double = 5,
        interval: Double = 0.002
    ) throws(EventLoopError) -> Bool {
        if condition() { return true }
        let pacer = try loop.addTimer(every: interval) {}
        defer { loop.cancelTimer(pacer) }
        return try WaitUntil.holds(within: seconds, checkingEvery: .zero) { () throws(EventLoopError) -> Bool in
            try loop.tick()
            return condition()
        }
    }

    /// Runs one tick that does not block: due timers, ready descriptors, queued jobs.
    public func tickWithoutBlocking() throws(EventLoopError) {
        loop.nextTick {}  // a queued job makes the poll's timeout zero
        try loop.tick()
    }

    // MARK: - The end of a test

    /// Registers clean-up that `finish()` runs before it checks for leaks (a server to stop, a descriptor
    /// a failed test left open), last registered first.
    public func onTeardown(_ body: @escaping () -> Void) {
        teardowns.append(body)
    }

    /// What is still registered in the loop, one line a kind; empty when nothing is.
    public func leaks() -> [String] {
        var found: [String] = []
        if loop.watchedCount > 0 { found.append("\(loop.watchedCount) descriptor registration(s)") }
        if loop.timerCount > 0 { found.append("\(loop.timerCount) timer(s)") }
        if !loop.watchedSignals.isEmpty { found.append("signal watchers for \(loop.watchedSignals)") }
        return found
    }

    /// Runs the teardowns, checks for leaks, then closes the loop whatever it found.
    ///
    /// - Returns: The leaks (`leaks()`); a test expects none.
    @discardableResult
    public func finish() -> [String] {
        let cleanUp = teardowns.reversed()
        teardowns = []
        for body in cleanUp { body() }
        let found = leaks()
        // A leaked timer must not keep a closed loop's callbacks (and what they capture) alive.
        loop.cancelAllTimers()
        loop.close()
        return found
    }
}

@available(*, unavailable)
extension LoopHarness: Sendable {}
