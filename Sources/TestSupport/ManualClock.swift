import WorkermanEventLoop

/// A clock that moves only when told to, so timer tests need no real time.
///
/// ```swift
/// let clock = ManualClock()
/// let loop = try EventLoop(backend: ScriptedBackend(clock: clock), clock: clock)
/// clock.advance(by: .milliseconds(250))
/// ```
public final class ManualClock: LoopClock {
    public private(set) var now: UInt64

    public init(start: UInt64 = 1_000_000_000) { now = start }

    public func nanoseconds() -> UInt64 { now }

    public func advance(byNanoseconds nanoseconds: UInt64) { now += nanoseconds }

    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        advance(byNanoseconds: UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
    }
}

@available(*, unavailable)
extension ManualClock: Sendable {}
