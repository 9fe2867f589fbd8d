// A child process of the WebSocket and HTTP real-client tests (Python, Chromium, curl) with its output on
// a pipe the test's loop watches; always killed by pid and reaped.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawnp`, its standard output (and error, unless `quiet`) on a
/// pipe the loop can watch. `kill()` ends it by its pid (or its own process group, for browsers that
/// start helpers) and reaps it; call it in a `defer`.
final class WSChild {
    let pid: pid_t
    /// The read end of the child's standard output (non-blocking, close-on-exec).
    private(set) var outputFD: CInt
    let ownGroup: Bool
    private(set) var output: [UInt8] = []
    private var reaped = false

    init(_ argv: [String], quiet: Bool = false, ownGroup: Bool = false) throws {
        var fds: [CInt] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Errno(rawValue: errno) }
        // Close-on-exec, so children other tests spawn meanwhile do not keep the pipe open.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let child: pid_t
        do {
            child = try ChildProcess.spawn(
                argv[0],
                Array(argv.dropFirst()),
                output: .descriptor(fds[1]),
                errors: quiet ? .null : .output,
                searchPath: true,
                ownProcessGroup: ownGroup
            )
        } catch {
            _ = Glibc.close(fds[0])
            _ = Glibc.close(fds[1])
            throw error
        }
        _ = Glibc.close(fds[1])
        pid = child
        outputFD = fds[0]
        self.ownGroup = ownGroup
        _ = fcntl(outputFD, F_SETFL, fcntl(outputFD, F_GETFL) | O_NONBLOCK)
    }

    deinit { kill() }

    var outputText: String { String(decoding: output, as: UTF8.self) }

    /// Watches the output in `loop`: `onLine` gets each complete line, `onEnd` runs at end of file (the
    /// child exited or closed its output).
    func watch(
        in loop: EventLoop,
        onLine: @escaping (String) -> Void = { _ in },
        onEnd: @escaping () -> Void = {}
    ) throws {
        var pending: [UInt8] = []
        try loop.watch(outputFD, for: .readable) { [unowned self] _ in
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(self.outputFD, $0.baseAddress, $0.count) }
            if count > 0 {
                self.output += chunk[0..<count]
                pending += chunk[0..<count]
                while let newline = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[0..<newline], as: UTF8.self)
                    pending.removeFirst(newline + 1)
                    onLine(line)
                }
                return
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            _ = loop.unwatch(self.outputFD)
            onEnd()
        }
    }

    /// Stops watching (if watched) and closes the output.
    func closeOutput(in loop: EventLoop?) {
        guard outputFD >= 0 else { return }
        if let loop, loop.interest(for: outputFD) != nil { _ = loop.unwatch(outputFD) }
        _ = Glibc.close(outputFD)
        outputFD = -1
    }

    /// Waits for the child to exit by itself, at most `timeout` seconds; its exit status, or nil.
    func wait(timeout: Double) -> CInt? {
        var exitStatus: CInt?
        _ = WaitUntil.holds(within: timeout, checkingEvery: .milliseconds(20)) {
            if case .exited(let status) = ChildProcess.reap(pid) { exitStatus = status }
            return exitStatus != nil
        }
        reaped = reaped || exitStatus != nil
        return exitStatus
    }

    /// Reads what is left of the output (blocking until end of file, at most `timeout` seconds).
    func drainOutput(timeout: Double) {
        guard outputFD >= 0 else { return }
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while MonotonicClock.now() < deadline {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(outputFD, $0.baseAddress, $0.count) }
            if count > 0 {
                output += chunk[0..<count]
            } else if count == 0 {
                return
            } else if errno == EAGAIN || errno == EINTR {
                usleep(10_000)
            } else {
                return
            }
        }
    }

    /// Kills the child (SIGKILL to its pid, or to its own group) and reaps it.
    func kill() {
        if outputFD >= 0 {
            _ = Glibc.close(outputFD)
            outputFD = -1
        }
        guard !reaped else { return }
        ChildProcess.killAndReap(ownGroup ? -pid : pid)
        reaped = true
    }

    /// Runs `argv` to completion (at most `timeout` seconds); its exit status and output.
    static func run(_ argv: [String], timeout: Double) -> (status: CInt?, output: String) {
        guard let child = try? WSChild(argv) else { return (nil, "") }
        defer { child.kill() }
        let status = child.wait(timeout: timeout)
        child.drainOutput(timeout: 1)
        return (status, child.outputText)
    }
}

/// Python 3 with the `websockets` package (nil when there is none): the interop tests' reference peer.
let wsPythonWebsockets: String? = {
    let probe = WSChild.run(["python3", "-c", "import websockets, sys; print(websockets.__version__)"], timeout: 30)
    guard probe.status == 0 else { return nil }
    return probe.output.split(separator: "\n").last.map(String.init)
}()

extension WSLoop {
    /// Runs `command` (a client program talking to a server on this loop) until it exits, serving the loop
    /// meanwhile, within `timeout` seconds; returns its output lines and exit status.
    func runClient(_ command: [String], timeout: Double = 60) throws -> (lines: [String], output: String, status: CInt?) {
        let child = try WSChild(command)
        defer { child.kill() }
        try child.watch(in: loop, onEnd: { self.done() })
        try run(timeout: timeout)
        child.closeOutput(in: loop)
        let status = child.wait(timeout: 10)
        return (child.outputText.split(separator: "\n").map(String.init), child.outputText, status)
    }
}
