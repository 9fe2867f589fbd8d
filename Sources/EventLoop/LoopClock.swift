// CWorkermanShims: its headers pull in `struct timespec`, and in a whole-module (release) build Swift
// attributes the type to the shim module, so MemberImportVisibility wants it imported here.
import CWorkermanShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the loop reads the time: monotonic nanoseconds. Injected so tests can move time by hand
/// (a `ManualClock` in WorkermanTestSupport).
public protocol LoopClock: AnyObject {
    /// Nanoseconds on a monotonic scale; only differences matter.
    func nanoseconds() -> UInt64
}

/// `CLOCK_MONOTONIC`: never jumps with the wall clock, so timers are not moved when the system time is
/// changed (a Workerman gotcha). The same scale in every process, so another process can tell how long
/// a loop has been inside a callback.
public final class MonotonicClock: LoopClock {
    public init() {}

    @inline(__always)
    public func nanoseconds() -> UInt64 { Self.now() }

    @inline(__always)
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}
