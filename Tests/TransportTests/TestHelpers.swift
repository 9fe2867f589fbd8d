// Shared fixtures for the transport tests: a loop with a guard timer, the three stream families (TCP over
// IPv4 and IPv6, unix sockets in a fresh temporary directory) and test data. RawPeer.swift has the client
// socket a test drives by hand, TestCodecs.swift two tiny codecs.
//
// Nothing here is process-global: every test makes its own loop, directory and sockets, so the tests can run
// in parallel. No test sleeps to synchronise: each one runs its loop until its own callbacks say it is done,
// and a guard timer stops a loop that waits too long (the test then fails instead of hanging).

import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Loop and guard

/// One test's loop, run until the test says it is done or the guard fires.
final class LoopHarness {
    let loop: EventLoop
    let context: TransportContext
    private(set) var timedOut = false
    /// Set by `done()`, so a test that finishes before `run()` (inside connect(), say) does not wait.
    private var isDone = false
    private var guardTimer: TimerID?
    private var teardowns: [() -> Void] = []
    /// Errors the loop's `errorHandler` received (callbacks that threw, accept failures).
    private(set) var loggedErrors: [any Error] = []

    init(_ backend: BackendKind) throws {
        loop = try EventLoop(backend: backend)
        context = TransportContext.of(loop)
        loop.errorHandler = { [unowned self] error in self.loggedErrors.append(error) }
    }

    /// Runs the loop until `done()`, or until `timeout` seconds pass (a failure).
    func run(timeout: Double = 10, sourceLocation: SourceLocation = #_sourceLocation) throws {
        defer { isDone = false }
        guard !isDone else { return }
        guardTimer = try loop.addTimer(after: timeout) { [unowned self] in
            self.timedOut = true
            self.guardTimer = nil
            self.loop.stop()
        }
        try loop.run()
        if let guardTimer { loop.cancelTimer(guardTimer) }
        guardTimer = nil
        #expect(!timedOut, "the loop was stopped by the guard timer", sourceLocation: sourceLocation)
    }

    /// Ends `run()` after the current tick (or makes the next `run()` return at once).
    func done() {
        isDone = true
        loop.stop()
    }

    /// Registers clean-up that runs in `finish()` (closing listeners, or whatever a failed test left open).
    func onTeardown(_ body: @escaping () -> Void) { teardowns.append(body) }

    /// Stops `server` at the end of the test, destroying connections a failed test left open.
    func track<C>(_ server: TCPServer<C>) {
        onTeardown {
            server.stop()
            for connection in server.connections.values { connection.destroy() }
        }
    }

    /// The end of every test: listeners closed, then nothing may be left open in the loop.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        let cleanUp = teardowns
        teardowns = []
        let leaked = context.liveConnections
        #expect(leaked.isEmpty, "connections left open: \(context.connectionListing)", sourceLocation: sourceLocation)
        for connection in leaked { connection.destroy() }
        for body in cleanUp { body() }
        #expect(context.statistics.connections == 0, "open sockets counted", sourceLocation: sourceLocation)
        #expect(loop.watchedCount == 0, "leaked registrations", sourceLocation: sourceLocation)
        #expect(loop.timerCount == 0, "leaked timers", sourceLocation: sourceLocation)
        loop.close()
    }
}

// MARK: - Families

/// The stream socket families every stream test runs over.
enum Family: String, CaseIterable, CustomStringConvertible, Sendable {
    case ipv4
    case ipv6
    case unix

    var description: String { rawValue }
}

/// Where one test's servers listen: loopback for TCP, a fresh temporary directory for unix sockets
/// (removed, and checked empty, by `remove()`).
final class TestSite {
    let family: Family
    /// The temporary directory of a unix site.
    let directory: String?

    init(_ family: Family) throws {
        self.family = family
        directory = family == .unix ? try makeTemporaryDirectory() : nil
    }

    /// A listen address for `scheme`, port 0 for TCP; `name` tells several unix servers of one test apart.
    func listenAddress(scheme: String = "tcp", name: String = "s") -> String {
        switch family {
        case .ipv4: return "\(scheme)://127.0.0.1:0"
        case .ipv6: return "\(scheme)://[::1]:0"
        case .unix: return "unix://\(directory!)/\(name).sock"
        }
    }

    /// The URL a client uses to reach `listener`.
    func clientURL(for listener: Listener, scheme: String = "tcp") -> String {
        switch family {
        case .ipv4: return "\(scheme)://127.0.0.1:\(listener.address.port)"
        case .ipv6: return "\(scheme)://[::1]:\(listener.address.port)"
        case .unix: return "unix://\(listener.address.ip)"
        }
    }

    /// Removes the directory; it must be empty (listeners unlink their socket files when they close).
    func remove(sourceLocation: SourceLocation = #_sourceLocation) {
        guard let directory else { return }
        #expect(rmdir(directory) == 0, "rmdir \(directory): \(Errno(rawValue: errno))", sourceLocation: sourceLocation)
    }
}

/// A fresh directory under `$TMPDIR` (or the system's temporary directory), short enough for unix socket
/// paths (`sun_path` holds 107 bytes).
func makeTemporaryDirectory() throws -> String {
    var base = getenv("TMPDIR").map { String(cString: $0) } ?? ""
    if base.isEmpty || base.utf8.count > 60 { base = P_tmpdir }
    while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
    var template = Array("\(base)/wmt-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw Errno(rawValue: errno) }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

// MARK: - Data

/// See `TestPattern.bytes`.
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] { TestPattern.bytes(count, seed: seed) }

/// See `TestPattern.matches`.
func same(_ actual: [UInt8]?, _ expected: [UInt8]) -> Bool { TestPattern.matches(actual, expected) }

/// `count` copies of one ASCII letter, made from bytes (`String(repeating:count:)` appends one at a time,
/// which takes a good part of a second for megabytes in an unoptimised build).
func letters(_ count: Int, _ letter: UInt8 = UInt8(ascii: "x")) -> String {
    String(decoding: [UInt8](repeating: letter, count: count), as: UTF8.self)
}

/// A byte buffer of `count` copies of `byte`.
func filler(_ count: Int, _ byte: UInt8) -> ByteBuffer {
    ByteBuffer([UInt8](repeating: byte, count: count))
}

// MARK: - Servers

extension LoopHarness {
    /// A started server on `site`, stopped by `finish()`; `configure` runs before `start()`.
    func startServer<C: Codec>(
        _ site: TestSite,
        codec: C.Type = C.self,
        name: String = "s",
        configure: (TCPServer<C>) -> Void = { _ in }
    ) throws -> TCPServer<C> {
        let server = try TCPServer<C>(loop: loop, address: site.listenAddress(name: name))
        configure(server)
        try server.start()
        track(server)
        return server
    }
}
