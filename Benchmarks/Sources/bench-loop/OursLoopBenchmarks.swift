#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import WorkermanEventLoop

/// The loop benchmarks on our `EventLoop`, run on the calling (main) thread.
final class OursLoopBenchmarks {
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    /// A timer that stops the loop at the deadline, so no measurement can hang.
    /// Callbacks capture the loop strongly, as a user's would; the cycle ends when the timer fires or is
    /// cancelled, or the descriptor is unwatched.
    private func watchdog(_ deadline: Deadline, _ progress: LoopProgress) throws -> TimerID {
        let loop = self.loop
        return try loop.addTimer(after: deadline.secondsLeft) {
            if progress.finish() { loop.stop() }
        }
    }

    /// Schedules `count` one-shot timers due within 0–4 ms, then runs the loop until all have fired.
    func timerFire(count: Int, deadline: Deadline) throws -> Sample {
        let progress = LoopProgress(count: count)
        let loop = self.loop
        progress.start = BenchClock.now()
        var scheduled = 0
        while scheduled < count {
            if scheduled & 4095 == 0 && deadline.hasPassed { break }
            try loop.addTimer(after: Double(spreadMicroseconds(scheduled)) * 1e-6) {
                progress.done += 1
                if progress.done == progress.count && progress.finish() { loop.stop() }
            }
            scheduled += 1
        }
        let guardTimer = try watchdog(deadline, progress)
        try loop.run(.untilStopped)
        loop.cancelTimer(guardTimer)
        if !progress.finished { _ = progress.finish() }
        loop.cancelAllTimers()  // what an incomplete run left behind
        return progress.sample
    }

    /// Schedules a timer (due in 1–5 ms) and cancels it at once, `count` times.
    func timerCancel(count: Int, deadline: Deadline) throws -> Sample {
        let progress = LoopProgress(count: count)
        let loop = self.loop
        progress.start = BenchClock.now()
        while progress.done < count {
            if progress.done & 4095 == 0 && deadline.hasPassed { break }
            let id = try loop.addTimer(after: Double(1000 + spreadMicroseconds(progress.done)) * 1e-6) {
                progress.done += 1  // never runs: the timer is cancelled
            }
            loop.cancelTimer(id)
            progress.done += 1
        }
        _ = progress.finish()
        return progress.sample
    }

    /// `producers` other threads send `count` jobs in all through `loop.handle.execute`; timed from just
    /// before the first producer starts until the loop has run the last job. With several producers the
    /// handle's lock is contended, which is what `cross-thread-4` measures.
    func crossThread(count: Int, deadline: Deadline, producers: Int) throws -> Sample {
        let progress = LoopProgress(count: count)
        let handle = loop.handle
        let guardTimer = try watchdog(deadline, progress)
        progress.start = BenchClock.now()
        let threads = producerShares(count: count, producers: producers).map { share in
            BenchThread {
                var sent = 0
                while sent < share {
                    if sent & 4095 == 0 && deadline.hasPassed { break }
                    handle.execute { loop in
                        progress.done += 1
                        if progress.done == progress.count && progress.finish() { loop.stop() }
                    }
                    sent += 1
                }
            }
        }
        try loop.run(.untilStopped)
        for thread in threads { thread.join() }
        loop.cancelTimer(guardTimer)
        if progress.done < count { try loop.run(.untilIdle) }  // run what an incomplete run left queued
        return progress.sample
    }

    /// One byte bounced between the two ends of a socketpair, both watched for readability on this loop;
    /// each readable callback reads the byte and writes it back. `count` readiness events in all.
    func pingPong(count: Int, deadline: Deadline) throws -> Sample {
        let (left, right) = try makeSocketPair()
        defer {
            close(left)
            close(right)
        }
        let progress = LoopProgress(count: count)
        let loop = self.loop
        func bounce(_ fd: CInt) -> (IOEvents) -> Void {
            { _ in
                var byte: UInt8 = 0
                guard read(fd, &byte, 1) == 1 else { return }
                progress.done += 1
                if progress.done >= progress.count {
                    if progress.finish() { loop.stop() }
                    return
                }
                _ = write(fd, &byte, 1)
            }
        }
        try loop.watch(left, for: .readable, bounce(left))
        try loop.watch(right, for: .readable, bounce(right))
        defer {
            loop.unwatch(left)
            loop.unwatch(right)
        }
        let guardTimer = try watchdog(deadline, progress)
        progress.start = BenchClock.now()
        var byte: UInt8 = 1
        guard write(left, &byte, 1) == 1 else { throw BenchError("ping-pong: first write failed: errno \(errno)") }
        try loop.run(.untilStopped)
        loop.cancelTimer(guardTimer)
        return progress.sample
    }
}
