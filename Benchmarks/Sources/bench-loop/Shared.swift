#if canImport(Glibc)
import Glibc
#endif
import BenchSupport

/// What a benchmark's callbacks share on the loop thread: the target count, the progress, and when it
/// started and ended. The same shape on both sides, so both sides' closures capture the same things.
///
/// Safety of `@unchecked Sendable`: the fields are touched only on the loop thread running the benchmark,
/// and read by the measuring thread only after a join or a future's `wait()` has ordered the accesses.
final class LoopProgress: @unchecked Sendable {
    let count: Int
    var done = 0
    var start: UInt64 = 0
    var end: UInt64 = 0
    var finished = false

    init(count: Int) { self.count = count }

    /// Marks the end once (the last operation, or the watchdog); returns false if it was marked already.
    func finish() -> Bool {
        guard !finished else { return false }
        finished = true
        end = BenchClock.now()
        return true
    }

    var sample: Sample { Sample(operations: done, start: start, end: end, expected: count) }
}

/// Deadlines of the timer benchmarks: spread over 0…4.095 ms, so the heap orders timers that are not all
/// equal, and all of them are due soon after they are scheduled.
@inline(__always)
func spreadMicroseconds(_ index: Int) -> Int { index & 4095 }

/// A connected AF_UNIX stream pair, non-blocking and close-on-exec.
func makeSocketPair() throws -> (CInt, CInt) {
    var fds: [CInt] = [-1, -1]
    let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
    guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw BenchError("socketpair failed: errno \(errno)") }
    return (fds[0], fds[1])
}

/// How many jobs each of `producers` threads sends so that they send `count` in all: equal shares, the
/// remainder spread over the first threads.
func producerShares(count: Int, producers: Int) -> [Int] {
    (0..<producers).map { count / producers + ($0 < count % producers ? 1 : 0) }
}
