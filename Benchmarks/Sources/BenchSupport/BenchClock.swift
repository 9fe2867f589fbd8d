#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `CLOCK_MONOTONIC` in nanoseconds: the one clock every benchmark times with, on every thread.
public enum BenchClock {
    @inline(__always)
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

/// A wall-clock limit for one measurement: every benchmark loop is bounded by its count *and* by this.
public struct Deadline: Sendable {
    /// `BenchClock` nanoseconds after which the measurement gives up.
    public let nanoseconds: UInt64

    public init(secondsFromNow seconds: Double) {
        nanoseconds = BenchClock.now() &+ UInt64(seconds * 1e9)
    }

    public var hasPassed: Bool { BenchClock.now() >= nanoseconds }

    /// Seconds left (at least 1 ms), for APIs that take a delay.
    public var secondsLeft: Double {
        let now = BenchClock.now()
        return now >= nanoseconds ? 0.001 : max(0.001, Double(nanoseconds - now) / 1e9)
    }
}

/// What one measurement did: how many operations completed in how long, and whether all the requested
/// ones completed before the deadline.
public struct Sample: Sendable {
    public var operations: Int
    public var nanoseconds: UInt64
    public var completed: Bool

    public init(operations: Int, nanoseconds: UInt64, completed: Bool) {
        self.operations = operations
        self.nanoseconds = nanoseconds
        self.completed = completed
    }

    /// `start` and `end` are `BenchClock` readings.
    public init(operations: Int, start: UInt64, end: UInt64, expected: Int) {
        self.init(operations: operations, nanoseconds: end > start ? end - start : 1, completed: operations >= expected)
    }

    public var operationsPerSecond: Double {
        operations < 0 ? .nan : Double(operations) / (Double(max(nanoseconds, 1)) / 1e9)
    }

    /// The sample of a side that was not run (`--only`): its rate is NaN.
    public static let skipped = Sample(operations: -1, nanoseconds: 1, completed: true)
}
