// The demo for now: a timer-driven echo on the event loop. Type a line: it comes back upper-cased half a
// second later, from a one-shot timer. A heartbeat timer prints the uptime every 5 seconds (`--quiet`
// turns it off, to watch an idle loop with strace). Ctrl-C stops it through a loop signal watcher.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

/// Echoes standard input back, upper-cased, through one-shot timers.
final class EchoDemo {
    let loop: EventLoop
    private var pending: [UInt8] = []
    private let started = MonotonicClock.now()

    init(loop: EventLoop) { self.loop = loop }

    func start(heartbeat: Bool) throws {
        say("Workerman for Swift — event loop demo on \(loop.backend.name), pid \(getpid())")
        do {
            try echoStandardInput()
            say("Type a line and press return; Ctrl-C to stop.")
        } catch {
            say("Not echoing standard input: \(error). Ctrl-C to stop.")
        }
        if heartbeat {
            try loop.addTimer(every: 5) { [unowned self] in
                say("uptime \((MonotonicClock.now() - started) / 1_000_000_000) s, \(loop.timerCount) timer(s)")
            }
        }
        try loop.watchSignal(SIGINT) { [unowned self] _ in
            say("\nbye")
            loop.stop()
        }
        try loop.watchSignal(SIGTERM) { [unowned self] _ in loop.stop() }
    }

    private func echoStandardInput() throws {
        _ = fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK)
        try loop.watch(0, for: .readable) { [unowned self] _ in try readLines() }
    }

    private func readLines() throws {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        guard count > 0 else {
            if count == 0 || errno != EAGAIN {
                loop.unwatch(0)
                say("standard input closed; Ctrl-C to stop")
            }
            return
        }
        pending.append(contentsOf: chunk[0..<count])
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<newline], as: UTF8.self)
            pending.removeSubrange(...newline)
            try loop.addTimer(after: 0.5) { say("echo: \(line.uppercased())") }
        }
    }
}

func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
}

let demo = EchoDemo(loop: try EventLoop())
try demo.start(heartbeat: !CommandLine.arguments.contains("--quiet"))
try demo.loop.run(.untilStopped)
