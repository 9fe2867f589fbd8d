import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Bounded waits for something outside any loop: another process (a child's exit, a file it writes, a
/// port it opens) or another thread. Checks a condition until it holds or wall time runs out, pausing
/// briefly between checks; never a sleep that stands in for the event itself.
///
/// ```swift
/// let exited = WaitUntil.holds(within: 5) { processHasExited(pid) }
/// #expect(exited)
/// ```
public enum WaitUntil {
    /// Checks `condition` until it is true or `seconds` of wall time pass.
    ///
    /// - Parameter interval: The pause between checks; small, since each check is cheap.
    /// - Returns: Whether the condition held in time (it is checked once more at the deadline).
    public static func holds<E: Error>(
        within seconds: Double,
        checkingEvery interval: Duration = .milliseconds(2),
        _ condition: () throws(E) -> Bool
    ) throws(E) -> Bool {
        // The monotonic clock: a wall-clock jump must neither cut the wait short nor stretch it.
        let deadline = MonotonicClock.now() + UInt64(max(0, seconds) * 1e9)
        let (pauseSeconds, pauseAttoseconds) = interval.components
        var pause = timespec(tv_sec: Int(pauseSeconds), tv_nsec: Int(pauseAttoseconds / 1_000_000_000))
        while true {
            if try condition() { return true }
            if MonotonicClock.now() >= deadline { return try condition() }
            _ = nanosleep(&pause, nil)
        }
    }
}
