import WorkermanEventLoop

/// A backend that plays the kernel: tests say which descriptors become ready in which poll, and read back
/// every registration and every timeout the loop asked for. With a `ManualClock`, a poll with nothing
/// scripted advances the clock by its timeout, as a real blocking poll would let time pass.
///
/// ```swift
/// let backend = ScriptedBackend(clock: clock)
/// backend.script([(fd: 5, events: .readable)])   // the next poll reports fd 5 readable
/// ```
public final class ScriptedBackend: IOBackend {
    public let name = "scripted"

    /// What the loop asked the backend to watch: fd → (interest, user data).
    public private(set) var registered: [CInt: (interest: IOEvents, userData: UInt64)] = [:]
    /// Every poll's timeout, in order.
    public private(set) var timeouts: [PollTimeout] = []
    /// Every register/modify/deregister, in order, e.g. `register 5 [readable]`.
    public private(set) var operations: [String] = []
    public private(set) var isClosed = false

    /// One future poll's result: by descriptor, or with raw user data. One queue, so polls come in the
    /// order they were scripted, whichever way.
    private enum Step {
        case byDescriptor([(fd: CInt, events: IOEvents)])
        case raw([ReadyEvent])
    }

    private var steps: [Step] = []
    private let clock: ManualClock?
    /// Descriptors that registration refuses, with the error to throw (to test the loop's error paths).
    public var refusals: [CInt: Errno] = [:]

    public init(clock: ManualClock? = nil) { self.clock = clock }

    /// Queues the result of one future poll. Events name descriptors; the user data is looked up at poll
    /// time, as the kernel would report it then.
    public func script(_ events: [(fd: CInt, events: IOEvents)]) {
        steps.append(.byDescriptor(events))
    }

    /// Queues a poll result with raw user data, to replay an event from an older registration.
    public func scriptRaw(_ events: [ReadyEvent]) {
        steps.append(.raw(events))
    }

    public var pendingScripts: Int { steps.count }

    public func register(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno) {
        if let error = refusals[fd] { throw error }
        guard registered[fd] == nil else { throw Errno.fileExists }
        registered[fd] = (interest, userData)
        operations.append("register \(fd) \(interest)")
    }

    public func modify(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno) {
        guard registered[fd] != nil else { throw Errno.noSuchFileOrDirectory }
        registered[fd] = (interest, userData)
        operations.append("modify \(fd) \(interest)")
    }

    public func deregister(fd: CInt) throws(Errno) {
        guard registered.removeValue(forKey: fd) != nil else { throw Errno.noSuchFileOrDirectory }
        operations.append("deregister \(fd)")
    }

    public func poll(
        timeout: PollTimeout,
        into events: UnsafeMutableBufferPointer<ReadyEvent>
    ) throws(Errno) -> Int {
        timeouts.append(timeout)
        guard !steps.isEmpty else {
            if case .nanoseconds(let nanos) = timeout { clock?.advance(byNanoseconds: nanos) }
            return 0
        }
        let next: [(fd: CInt, events: IOEvents)]
        switch steps.removeFirst() {
        case .raw(let raw):
            for (index, event) in raw.prefix(events.count).enumerated() { events[index] = event }
            return min(raw.count, events.count)
        case .byDescriptor(let byDescriptor):
            next = byDescriptor
        }
        var stored = 0
        for (fd, ready) in next where stored < events.count {
            guard let registration = registered[fd] else { continue }  // the kernel reports only what it has
            events[stored] = ReadyEvent(userData: registration.userData, events: ready)
            stored += 1
        }
        return stored
    }

    public func close() { isClosed = true }
}

@available(*, unavailable)
extension ScriptedBackend: Sendable {}
