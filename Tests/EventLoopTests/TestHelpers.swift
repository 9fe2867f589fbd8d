// Shared fixtures for the loop tests: descriptors that are always closed, a backend that lets a test look at
// every poll, a latch for threads, and the end-of-test leak check.

import CWorkermanShims
import Foundation
import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

struct TestFailure: Error, Equatable {
    let name: String
    init(_ name: String = "expected failure") { self.name = name }
}

// MARK: - Loops

/// A loop on a real backend, with a wrapper that records its polls.
func makeLoop(_ kind: BackendKind) throws -> (loop: EventLoop, probe: ProbeBackend) {
    let probe = ProbeBackend(try kind.makeBackend())
    return (try EventLoop(backend: probe), probe)
}

/// A loop that plays the kernel: a scripted backend and a clock that moves only when told to (and, if
/// `advancing`, by every poll's timeout, as a blocking poll would let time pass).
func makeScriptedLoop(
    advancing: Bool = true
) throws -> (loop: EventLoop, backend: ScriptedBackend, clock: ManualClock) {
    let clock = ManualClock()
    let backend = ScriptedBackend(clock: advancing ? clock : nil)
    return (try EventLoop(backend: backend, clock: clock), backend, clock)
}

/// The end of every test: nothing leaked, then the loop is closed.
func expectNoLeaks(_ loop: EventLoop, sourceLocation: SourceLocation = #_sourceLocation) {
    let leaks = LoopHarness(loop: loop).finish()
    #expect(leaks.isEmpty, "left behind: \(leaks)", sourceLocation: sourceLocation)
    #expect(loop.isClosed, sourceLocation: sourceLocation)
}

/// Runs one tick that cannot block: level-triggered readiness that exists now is reported in it.
func tickWithoutBlocking(_ loop: EventLoop) throws {
    try LoopHarness(loop: loop).tickWithoutBlocking()
}

/// A timer that stops the loop if the awaited event never comes, so a broken test fails instead of hanging.
final class Watchdog {
    private(set) var fired = false
    private var id: TimerID?
    private unowned let loop: EventLoop

    init(_ loop: EventLoop, seconds: Double = 5) throws {
        self.loop = loop
        id = try loop.addTimer(after: seconds) { [unowned self] in
            self.fired = true
            self.id = nil
            self.loop.stop()
        }
    }

    /// Cancels the guard; the test then asserts it did not fire.
    func disarm() {
        if let id { loop.cancelTimer(id) }
        id = nil
    }
}

/// A guard on another thread: if the test has not disarmed it within `seconds`, it stops the loop through
/// its handle. For tests where a loop timer cannot be the guard (it would keep `run(.untilIdle)` going).
final class ThreadWatchdog {
    private let latch = Latch()
    private let firedFlag = AtomicFlag()
    private var thread: BackgroundThread?

    init(_ handle: EventLoopHandle, seconds: Double = 5) throws {
        let latch = latch
        let firedFlag = firedFlag
        thread = try startThread {
            if !latch.wait(seconds: seconds) {
                firedFlag.set()
                handle.stop()
            }
        }
    }

    /// Stops the guard and waits for its thread; returns whether it fired.
    @discardableResult
    func disarm() -> Bool {
        latch.open()
        thread?.join()
        thread = nil
        return firedFlag.isSet
    }

    deinit { disarm() }
}

/// A flag threads can share.
final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A value threads can share, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let value: ThreadLock<Value>
    init(_ value: Value) { self.value = ThreadLock(value) }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    var current: Value { value.withLock { $0 } }
}

// MARK: - A backend that shows each poll

/// Forwards everything to another backend, and tells the test about each poll: what timeout it had, and what
/// it found. Hooks run on the loop thread, inside `poll`.
final class ProbeBackend: IOBackend {
    let inner: any IOBackend
    var name: String { inner.name }

    /// Called just before the inner poll.
    var willPoll: ((PollTimeout) -> Void)?
    /// Every poll's timeout and the events it returned, in order.
    private(set) var polls: [(timeout: PollTimeout, events: [ReadyEvent])] = []

    init(_ inner: any IOBackend) { self.inner = inner }

    func register(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno) {
        try inner.register(fd: fd, interest: interest, userData: userData)
    }

    func modify(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno) {
        try inner.modify(fd: fd, interest: interest, userData: userData)
    }

    func deregister(fd: CInt) throws(Errno) {
        try inner.deregister(fd: fd)
    }

    func poll(timeout: PollTimeout, into events: UnsafeMutableBufferPointer<ReadyEvent>) throws(Errno) -> Int {
        willPoll?(timeout)
        let found = try inner.poll(timeout: timeout, into: events)
        polls.append((timeout, Array(events.prefix(found))))
        return found
    }

    func close() { inner.close() }

    /// The descriptors the last poll reported (the low 32 bits of the user data the loop registered).
    var lastPolledDescriptors: [CInt] {
        (polls.last?.events ?? []).map { CInt(bitPattern: UInt32(truncatingIfNeeded: $0.userData)) }
    }
}

// MARK: - Descriptors

/// The descriptors a test opened; `closeAll()` closes each exactly once and checks it was still open.
final class OpenDescriptors {
    private(set) var owned: [CInt] = []

    /// A non-blocking pipe: (read end, write end).
    func pipe(sourceLocation: SourceLocation = #_sourceLocation) throws -> (read: CInt, write: CInt) {
        var fds: [CInt] = [-1, -1]
        try #require(wm_pipe_nonblocking(&fds) == 0, "pipe2: \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
        owned += fds
        return (fds[0], fds[1])
    }

    /// A non-blocking `socketpair(AF_UNIX, SOCK_STREAM)`.
    func socketPair(sourceLocation: SourceLocation = #_sourceLocation) throws -> (CInt, CInt) {
        var fds: [CInt] = [-1, -1]
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        try #require(
            socketpair(AF_UNIX, type, 0, &fds) == 0,
            "socketpair: \(Errno(rawValue: errno))",
            sourceLocation: sourceLocation
        )
        owned += fds
        return (fds[0], fds[1])
    }

    /// A non-blocking eventfd.
    func eventFD(sourceLocation: SourceLocation = #_sourceLocation) throws -> CInt {
        let fd = eventfd(0, WM_EFD_NONBLOCK | WM_EFD_CLOEXEC)
        try #require(fd >= 0, "eventfd: \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
        owned.append(fd)
        return fd
    }

    /// An open regular file (created in the temporary directory and unlinked at once), close-on-exec from the
    /// start so no child process that another test spawns meanwhile inherits it.
    func regularFile(sourceLocation: SourceLocation = #_sourceLocation) throws -> CInt {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("workerman-eventloop-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        try #require(fd >= 0, "open \(path): \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
        unlink(path)
        owned.append(fd)
        return fd
    }

    /// Moves `fd` to the lowest free number ≥ `minimum` and closes the original. Tests that close a watched
    /// descriptor, or need a number to stay free after closing it, use numbers far above what the tests
    /// running in parallel get (the kernel hands out the lowest free number).
    func moveAbove(_ minimum: CInt, _ fd: CInt, sourceLocation: SourceLocation = #_sourceLocation) throws -> CInt {
        raiseDescriptorLimit(above: minimum)
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        try #require(moved >= minimum, "F_DUPFD: \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
        try close(fd, sourceLocation: sourceLocation)
        owned.append(moved)
        return moved
    }

    /// Closes one descriptor early.
    func close(_ fd: CInt, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let index = try #require(
            owned.firstIndex(of: fd),
            "fd \(fd) not opened by this test",
            sourceLocation: sourceLocation
        )
        owned.remove(at: index)
        #expect(Glibc.close(fd) == 0, "close(\(fd)): \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
    }

    func closeAll(sourceLocation: SourceLocation = #_sourceLocation) {
        for fd in owned {
            #expect(Glibc.close(fd) == 0, "close(\(fd)): \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
        }
        owned.removeAll()
    }
}

/// Raises this process's soft descriptor limit above `number` if it is lower and the hard limit allows (a
/// soft limit of 1024 is common, and the FD_SETSIZE tests need descriptors above it).
func raiseDescriptorLimit(above number: CInt) {
    var limit = rlimit()
    guard getrlimit(fileLimitResource, &limit) == 0, limit.rlim_cur <= rlim_t(number) else { return }
    limit.rlim_cur = min(limit.rlim_max, rlim_t(number) + 64)
    _ = setrlimit(fileLimitResource, &limit)
}

/// `RLIMIT_NOFILE` as `getrlimit` takes it on Glibc (an enum there).
private let fileLimitResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

/// Writes `count` bytes to a non-blocking descriptor.
func writeBytes(_ fd: CInt, count: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) {
    let bytes = [UInt8](repeating: 0x2A, count: count)
    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    #expect(written == count, "write(\(fd)): \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
}

/// Adds one to an eventfd's counter.
func signalEventFD(_ fd: CInt, sourceLocation: SourceLocation = #_sourceLocation) {
    var one: UInt64 = 1
    #expect(Glibc.write(fd, &one, 8) == 8, "write(eventfd \(fd))", sourceLocation: sourceLocation)
}

/// Reads a non-blocking descriptor until it would block; returns how many bytes it read (0 at end of file
/// counts as nothing read).
@discardableResult
func drain(_ fd: CInt) -> Int {
    var total = 0
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return total }
        total += count
    }
}

// MARK: - Threads

/// Starts a thread running `body` (the kit's `BackgroundThread`); `join()` it.
func startThread(_ body: @escaping @Sendable () -> Void) throws -> BackgroundThread {
    try BackgroundThread(body)
}

/// A one-way gate between threads, with a bounded wait (no sleeping to synchronise).
///
/// `@unchecked Sendable`: `isOpen` is only touched with `condition` locked.
final class Latch: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until opened; false if `seconds` passed first.
    func wait(seconds: Double = 5) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !isOpen {
            if !condition.wait(until: deadline) { return isOpen }
        }
        return true
    }
}
