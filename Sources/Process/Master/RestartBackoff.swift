/// When the supervisor restarts one worker slot's child: at once, unless the child keeps dying soon
/// after it started; then after 0.1 s, 0.2 s, 0.4 s … up to a ceiling, so a broken worker (a syntax
/// error in its configuration, a port it cannot bind) does not spin the machine.
///
/// Pure: it is told the times (nanoseconds of the loop's clock) and answers with a decision, so the
/// back-off is tested with numbers instead of children that die on purpose.
struct RestartBackoff: Equatable {
    /// What to do after a child of the slot exits, or could not be started.
    enum Decision: Equatable {
        case restartNow
        case restart(afterSeconds: Double)
    }

    /// A child that dies sooner than this after its start counts as a quick death.
    var quickExitWindow: UInt64 = 1_000_000_000
    /// The first delay, doubled with each further quick death.
    var firstDelay = 0.1
    var maximumDelay = 10.0

    /// When the running child started, in loop-clock nanoseconds.
    private(set) var startedAt: UInt64 = 0
    /// Quick deaths in a row; any child that lives past the window resets it.
    private(set) var quickDeaths = 0

    /// Notes that a child of this slot started at `now`.
    mutating func started(at now: UInt64) {
        startedAt = now
    }

    /// Decides after the slot's child exited at `now`. An exit that the master asked for (a reload)
    /// is never a quick death: the reload starts its successor itself.
    mutating func exited(at now: UInt64, requested: Bool = false) -> Decision {
        // `now` never precedes `startedAt` on a monotonic clock; the guard keeps a bad clock from trapping.
        let lived = now >= startedAt ? now - startedAt : 0
        return record(quick: lived < quickExitWindow && !requested)
    }

    /// Decides after a child of the slot could not even be started: always a quick death.
    mutating func spawnFailed() -> Decision {
        record(quick: true)
    }

    private mutating func record(quick: Bool) -> Decision {
        quickDeaths = quick ? quickDeaths + 1 : 0
        // The first quick death is forgiven (a child may crash once for a reason of its own); the
        // back-off starts with the second. The shift is capped so the delay cannot overflow.
        guard quickDeaths > 1 else { return .restartNow }
        let doubled = firstDelay * Double(1 << min(quickDeaths - 2, 16))
        return .restart(afterSeconds: min(maximumDelay, doubled))
    }
}
