/// One event a backend's poll found: the user data given at registration, and what is ready.
public struct ReadyEvent: Hashable, Sendable {
    public var userData: UInt64
    public var events: IOEvents

    public init(userData: UInt64, events: IOEvents) {
        self.userData = userData
        self.events = events
    }
}

/// How long a poll may block.
public enum PollTimeout: Hashable, Sendable {
    /// Return at once with what is ready.
    case immediate
    /// Block at most this many nanoseconds.
    case nanoseconds(UInt64)
    /// Block until something is ready.
    case indefinite
}

/// What a readiness backend does, and no more: it translates interest masks for the kernel and reports
/// readiness. The event loop owns the fd → registration table, generations and callbacks, so a backend
/// is a thin, replaceable layer; tests use a scripted one.
///
/// Backends are level-triggered: an fd stays ready until its condition is consumed.
public protocol IOBackend: AnyObject {
    /// Which backend this is, for status and error messages.
    var name: String { get }

    /// Starts watching `fd` for `interest`; each event for it carries `userData`.
    func register(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno)

    /// Changes what `fd` is watched for (and the user data its events carry).
    func modify(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno)

    /// Stops watching `fd`. Called before the fd is closed.
    func deregister(fd: CInt) throws(Errno)

    /// Waits for readiness and stores what it found into `events` (at most `events.count`); returns how
    /// many it stored. An interrupted wait returns 0.
    func poll(timeout: PollTimeout, into events: UnsafeMutableBufferPointer<ReadyEvent>) throws(Errno) -> Int

    /// Releases the backend's own descriptors. Idempotent.
    func close()
}

extension PollTimeout {
    /// The timeout in whole milliseconds as poll-style calls take it, rounded up so a deadline is never
    /// woken for early (waking early would spin until the deadline). `-1` means indefinite.
    var milliseconds: CInt {
        switch self {
        case .immediate:
            return 0
        case .indefinite:
            return -1
        case .nanoseconds(let nanos):
            let millis = (nanos + 999_999) / 1_000_000
            return millis >= UInt64(CInt.max) ? CInt.max : CInt(millis)
        }
    }
}
