// A loop that is closed and dropped is freed whole, with its transport context (the loop owns the context,
// the context refers to the loop unowned): a program that makes and drops loops keeps a flat footprint.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Loop lifetime")
struct LoopLifetimeTests {
    @Test func aClosedLoopIsFreedWithItsContextServerAndConnections() throws {
        var loop: EventLoop?
        var context: TransportContext?
        let failure = try Self.echoOnce(backend: .automatic) { harness in
            loop = harness.loop
            context = harness.context
        }
        #expect(failure == nil, "\(failure ?? "")")
        weak let freedLoop = loop
        weak let freedContext = context
        loop = nil
        context = nil
        #expect(freedLoop == nil, "the loop outlived every reference to it")
        #expect(freedContext == nil, "the transport context outlived its loop")
    }

    /// The loop owns its context and the context does not own the loop: a loop the program drops without
    /// closing it goes, with its context (its `deinit` closes it).
    @Test func aLoopDroppedWithoutClosingIsFreedWithItsContext() throws {
        weak var freedLoop: EventLoop?
        weak var freedContext: TransportContext?
        do {
            let loop = try EventLoop()
            freedContext = TransportContext.of(loop)
            freedLoop = loop
        }
        #expect(freedLoop == nil, "the loop outlived every reference to it")
        #expect(freedContext == nil, "the transport context outlived its loop")
    }

    /// 1,000 loops, each with a server and one client connection over loopback that echo a line and close,
    /// in a child process (an exit test): resident memory is the whole process's, and the tests running in
    /// parallel here would move it by more than the bound.
    @Test func aThousandLoopsLeaveResidentMemoryFlat() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            if let failure = LoopLifetimeTests.thousandLoopsFailure() {
                _ = "\(failure)\n".withCString { Glibc.write(2, $0, strlen($0)) }
                exit(1)
            }
        }
        if let result, result.exitStatus != .exitCode(0) {
            Issue.record("child said: \(String(decoding: result.standardErrorContent, as: UTF8.self))")
        }
    }

    /// The body of the test above, in the child: what went wrong, or nil. Resident memory after the last
    /// loop is compared with after the first 100 (by then every lazily made buffer and the allocator's
    /// working set exist). Measured growth over the 900: 64-68 KB, 130 KB under ThreadSanitizer; with the
    /// loop <-> context cycle back, 36 MB (a leaked loop's untouched buffers are not resident, so only some
    /// 40 KB of each counts). AddressSanitizer's allocator keeps the pages of the blocks it recycles from
    /// its quarantine (16 MB over this run), so its bound is wider; under it LeakSanitizer checks every
    /// block at exit anyway.
    static func thousandLoopsFailure() -> String? {
        let bound = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") == nil ? 8 << 20 : 64 << 20
        let backends = BackendKind.available
        var afterFirstHundred: Int?
        do {
            for index in 1...1000 {
                if let failure = try echoOnce(backend: backends[index % backends.count]) {
                    return "loop \(index): \(failure)"
                }
                if index == 100 { afterFirstHundred = settledResidentBytes() }
            }
        } catch {
            return "\(error)"
        }
        guard let before = afterFirstHundred, let after = settledResidentBytes() else {
            return "cannot read /proc/self/statm"
        }
        let growth = after - before
        return growth < bound ? nil : "resident memory grew by \(growth >> 10) KiB over 900 loops"
    }

    /// One loop: a line server and a client that sends a line, reads the echo and closes; then the server
    /// stops, `finish()` checks nothing was left open and closes the loop. `inspect` sees the harness first.
    /// Returns what went wrong, or nil.
    @discardableResult
    private static func echoOnce(backend: BackendKind, inspect: (LoopHarness) -> Void = { _ in }) throws -> String? {
        let harness = try LoopHarness(backend)
        inspect(harness)
        // IPv6 loopback: a thousand loops take two thousand ports in a second, and on 127.0.0.1 they would
        // collide with tests that pick a free port there and bind it later (the Channel example programs).
        let site = try TestSite(.ipv6)
        // Done when both ends closed: the client after the echo, the server's end when it reads the close.
        var closes = 0
        let closed = {
            closes += 1
            if closes == 2 { harness.done() }
        }
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in connection.send(line) }
            server.onClose = { _ in closed() }
        }
        let client = try TCPClient<LineCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        var echoed: String?
        client.onConnect = { client in client.send("ping") }
        client.onMessage = { client, line in
            echoed = line
            client.close()
        }
        client.onClose = { _ in closed() }
        client.connect()
        try harness.run()
        let failure = harness.timedOut ? "timed out" : echoed == "ping" ? nil : "echoed \(echoed ?? "nothing")"
        harness.finish()
        return failure
    }
}

/// Resident bytes from `/proc/self/statm` (its second field, in pages), read after the allocator gave
/// back what it can: glibc's `malloc_trim(0)`, and under a sanitizer `__sanitizer_purge_allocator()`,
/// which drains AddressSanitizer's quarantine of freed blocks (256 MB by default, all of it resident) so
/// the figure shows live memory under ASan as it does without. Both are looked up at run time: the Glibc
/// module does not import `malloc.h`, and the sanitizer's function exists only in a sanitized build.
func settledResidentBytes() -> Int? {
    typealias Purge = @convention(c) () -> Void
    typealias Trim = @convention(c) (Int) -> CInt
    if let purge = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__sanitizer_purge_allocator") {
        unsafeBitCast(purge, to: Purge.self)()
    }
    if let trim = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
        _ = unsafeBitCast(trim, to: Trim.self)(0)  // whether anything went back does not matter
    }
    let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 128)
    let count = read(fd, &bytes, bytes.count)
    guard count > 0 else { return nil }
    // "size resident shared text lib data dt", in pages.
    let fields = bytes[..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
    return pages * sysconf(Int32(_SC_PAGESIZE))
}
