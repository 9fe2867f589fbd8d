extension EventLoop {
    /// Runs `body` once, `seconds` from now (fractional seconds; 1 ms resolution). Zero means "in the next
    /// timer phase".
    ///
    /// ```swift
    /// let id = try loop.addTimer(after: 0.25) { print("a quarter second later") }
    /// ```
    ///
    /// - Throws: `EventLoopError` `.invalidInterval` for a negative, NaN or infinite delay.
    @discardableResult
    public func addTimer(after seconds: Double, _ body: @escaping () throws -> Void) throws(EventLoopError) -> TimerID {
        let delay = try Self.nanoseconds(seconds, repeating: false)
        return scheduleTimer(delay: delay, interval: 0, body)
    }

    /// Runs `body` every `seconds` (fractional; 1 ms resolution), first `seconds` from now. The next run
    /// is scheduled from when the current one started, after it returns (Workerman's semantics): a slow
    /// callback delays the following runs, and runs never overlap.
    ///
    /// To stop from inside, capture the id: `var id: TimerID?; id = try loop.addTimer(every: 1) {
    /// loop.cancelTimer(id!) }`.
    ///
    /// - Throws: `EventLoopError` `.invalidInterval` for a zero, negative, NaN or infinite interval.
    @discardableResult
    public func addTimer(every seconds: Double, _ body: @escaping () throws -> Void) throws(EventLoopError) -> TimerID {
        let interval = try Self.nanoseconds(seconds, repeating: true)
        return scheduleTimer(delay: interval, interval: interval, body)
    }

    /// `addTimer(after:)` with a `Duration`.
    @discardableResult
    public func addTimer(after delay: Duration, _ body: @escaping () throws -> Void) throws(EventLoopError) -> TimerID {
        try addTimer(after: delay.seconds, body)
    }

    /// `addTimer(every:)` with a `Duration`.
    @discardableResult
    public func addTimer(every interval: Duration, _ body: @escaping () throws -> Void) throws(EventLoopError) -> TimerID {
        try addTimer(every: interval.seconds, body)
    }

    /// Cancels a timer, also from inside its own callback. Returns false if it already finished or was
    /// cancelled.
    @discardableResult
    public func cancelTimer(_ id: TimerID) -> Bool {
        assert(inLoopThread, "EventLoop used from a thread other than its own")
        // The callback comes back out and is released here, after the queue's mutation has ended: its
        // deinit may call back into the loop.
        let (cancelled, _) = timers.cancel(id)
        return cancelled
    }

    /// Cancels every timer of this loop.
    public func cancelAllTimers() {
        assert(inLoopThread, "EventLoop used from a thread other than its own")
        _ = timers.cancelAll()  // the callbacks are released after the queue's mutation, as in `cancelTimer`
    }

    /// Live timers (queued, or repeating and running now), as Workerman's `getTimerCount()`.
    public var timerCount: Int { timers.count }

    private func scheduleTimer(delay: UInt64, interval: UInt64, _ body: @escaping () throws -> Void) -> TimerID {
        assert(inLoopThread, "EventLoop used from a thread other than its own")
        let (deadline, overflow) = clock.nanoseconds().addingReportingOverflow(delay)
        return timers.schedule(deadline: overflow ? .max : deadline, interval: interval, body)
    }

    func runDueTimers(now: UInt64) {
        guard let deadline = timers.nextDeadline, deadline <= now else { return }
        activityRecord.pointee.phase = ActivityRecord.running
        activityRecord.pointee.since = now
        activityRecord.pointee.callback = ActivityCallback.timer.rawValue
        let mark = timers.queueMark  // timers queued by these callbacks wait for the next tick
        while let (id, callback, repeats) = timers.popDue(now: now, queuedBefore: mark) {
            activityRecord.pointee.subject = id.rawValue
            do {
                try callback()
            } catch {
                report(error, in: .timer, subject: id.rawValue)
            }
            if repeats { timers.reschedule(id, now: now) }
        }
    }

    /// Validates a delay in seconds and converts it to nanoseconds.
    static func nanoseconds(_ seconds: Double, repeating: Bool) throws(EventLoopError) -> UInt64 {
        guard seconds.isFinite, seconds >= 0, !(repeating && seconds == 0) else {
            throw EventLoopError(
                .invalidInterval,
                "add timer of \(seconds) s",
                detail: repeating ? "a repeating interval must be finite and > 0" : "a delay must be finite and ≥ 0"
            )
        }
        let nanos = (seconds * 1e9).rounded()
        return nanos >= 1.8e19 ? .max : UInt64(nanos)
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
