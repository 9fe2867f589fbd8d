// Shared fixtures of the component tests: a loop run until a condition holds (with a deadline), free
// ports, temporary directories, and real processes — the component test server, the examples,
// redis-server, php — started with posix_spawn and always stopped, then killed by pid, in a defer.
// No test sleeps to synchronise: each waits for a condition, with a deadline.

import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Time, files, ports

func monotonicSeconds() -> Double { Double(MonotonicClock.now()) / 1e9 }

/// Polls `condition` every few milliseconds until it holds; throws once `seconds` pass.
func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 10, _ condition: () throws -> Bool) throws {
    guard try WaitUntil.holds(within: seconds, checkingEvery: .milliseconds(5), condition) else {
        throw HarnessError("timed out after \(seconds) s waiting for \(what())")
    }
}

func readFile(_ path: String) -> String? { TestFiles.readText(path) }

/// The non-empty lines of a file ([] when it does not exist).
func lines(_ path: String) -> [String] {
    (readFile(path) ?? "").split(separator: "\n").map(String.init)
}

func writeFile(_ path: String, _ text: String) throws { try TestFiles.write(text, to: path) }

/// A fresh directory under $TMPDIR (or the system's), removed by `removeDirectory`.
func makeTemporaryDirectory(_ prefix: String) throws -> String { try TestFiles.makeTemporaryDirectory(prefix) }

func removeDirectory(_ path: String) { TestFiles.removeTree(path) }

/// A TCP port that was free a moment ago (see `FreePort`).
func freePort() throws -> Int { try FreePort.tcp() }

/// A UDP port that was free a moment ago (see `FreePort`).
func freeUDPPort() throws -> Int { try FreePort.udp() }

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(_ port: Int) -> Bool {
    let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// An executable on $PATH, or nil.
func findExecutable(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
        return "\(directory)/\(name)"
    }
    return nil
}

/// A program built next to the test bundle (`swift build --build-tests` builds them).
func builtProgram(_ name: String) -> String {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = buffer.withUnsafeMutableBufferPointer { pointer in
        pointer.withMemoryRebound(to: CChar.self) { readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1) }
    }
    var directory = length > 0 ? String(decoding: buffer[0..<length], as: UTF8.self) : CommandLine.arguments[0]
    for _ in 0..<4 {
        guard let slash = directory.lastIndex(of: "/") else { break }
        directory = String(directory[..<slash])
        if access("\(directory)/\(name)", X_OK) == 0 { return "\(directory)/\(name)" }
    }
    return name
}

// MARK: - Processes

// The /proc helpers, by their short names (WorkermanTestSupport's ProcessTable).
func isAlive(_ pid: pid_t) -> Bool { ProcessTable.isAlive(pid) }
func descendants(of root: pid_t) -> [pid_t] { ProcessTable.descendants(of: root) }

/// Starts a program with stdin from /dev/null, stdout and stderr appended to `output`, none of our other
/// descriptors, and without a parent's `WORKERMAN_` role variables.
func spawn(_ path: String, _ arguments: [String], environment extra: [String: String], output: String) throws -> pid_t {
    try ChildProcess.spawn(
        path,
        arguments,
        environment: extra,
        droppingVariablesWithPrefixes: ["WORKERMAN_"],
        output: .file(output, append: true),
        errors: .output
    )
}

/// Waits for our child `pid` at most `seconds`, then SIGKILLs it. Returns its exit code, or -1.
@discardableResult
func reap(_ pid: pid_t, seconds: Double) -> CInt { ChildProcess.waitForExit(pid, seconds: seconds) }

/// A Workerman program started for one test (the component test server or an example) in debug mode
/// in the foreground: its own directory, pid and log file. `stop()` (in a defer) stops it and kills by
/// pid whatever of it is left.
final class ServerProcess {
    let directory: String
    let pid: pid_t
    private var seen: Set<pid_t> = []

    /// Starts `program start` (or `program <arguments>`, e.g. `start -d`).
    init(program: String, environment: [String: String], directory: String? = nil, arguments: [String] = ["start"]) throws {
        let directory = try directory ?? makeTemporaryDirectory("wm-components")
        self.directory = directory
        var environment = environment
        environment["WM_TEST_DIR"] = directory
        environment["PID_FILE"] = environment["PID_FILE"] ?? "\(directory)/server.pid"
        environment["LOG_FILE"] = environment["LOG_FILE"] ?? "\(directory)/server.log"
        let binary = builtProgram(program)
        guard access(binary, X_OK) == 0 else {
            throw HarnessError("\(program) not found next to the test bundle; run swift build --build-tests")
        }
        pid = try spawn(binary, arguments, environment: environment, output: "\(directory)/output.log")
        seen.insert(pid)
    }

    var output: String { readFile("\(directory)/output.log") ?? "" }
    var log: String { readFile("\(directory)/server.log") ?? "" }

    /// Waits until `count` worker processes run under the master.
    @discardableResult
    func waitForChildren(_ count: Int, seconds: Double = 15) throws -> [pid_t] {
        var children: [pid_t] = []
        try waitUntil("\(count) worker processes\n\(output)", seconds: seconds) {
            guard isAlive(pid) else { throw HarnessError("the program exited:\n\(output)") }
            children = descendants(of: pid)
            seen.formUnion(children)
            return children.count >= count
        }
        return children
    }

    /// The master named by the pid file (a daemon's master is not our child).
    var masterPID: pid_t? {
        readFile("\(directory)/server.pid").flatMap { pid_t($0.filter(\.isNumber)) }.flatMap { isAlive($0) ? $0 : nil }
    }

    /// Stops the master (SIGINT), waits for it, then SIGKILLs any process of it still alive.
    func stop() {
        seen.formUnion(descendants(of: pid))
        if let master = masterPID, master != pid {
            seen.insert(master)
            seen.formUnion(descendants(of: master))
            kill(master, SIGINT)
            try? waitUntil("the daemon to stop", seconds: 8) { !isAlive(master) }
        }
        if isAlive(pid) { kill(pid, SIGINT) }
        reap(pid, seconds: 8)
        for other in seen where other != pid && isAlive(other) { kill(other, SIGKILL) }
        removeDirectory(directory)
    }
}

/// A `redis-server` on a free port, for one test; nil (and the test skips) when it is not installed.
final class RedisProcess {
    let port: Int
    let pid: pid_t
    let directory: String

    static var isInstalled: Bool { findExecutable("redis-server") != nil }

    /// Starts one on `port` (nil: a free one).
    init(port: Int? = nil) throws {
        guard let binary = findExecutable("redis-server") else { throw HarnessError("redis-server is not installed") }
        directory = try makeTemporaryDirectory("wm-redis")
        if let port { self.port = port } else { self.port = try freePort() }
        pid = try spawn(
            binary,
            ["--port", String(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory],
            environment: [:],
            output: "\(directory)/redis.log"
        )
        let pid = self.pid
        let port = self.port
        try waitUntil("redis-server on port \(port)", seconds: 10) {
            guard isAlive(pid) else { throw HarnessError("redis-server exited: \(readFile("\(directory)/redis.log") ?? "")") }
            return isListening(port)
        }
    }

    var address: String { "127.0.0.1:\(port)" }

    func stop() {
        kill(pid, SIGTERM)
        reap(pid, seconds: 5)
        removeDirectory(directory)
    }
}

// MARK: - A loop run until a condition holds

/// One test's event loop on the test's thread, run until a condition holds or a deadline passes.
final class TestLoop {
    let harness: LoopHarness
    var loop: EventLoop { harness.loop }
    /// Errors the loop's `errorHandler` got (callbacks that threw).
    private(set) var errors: [any Error] = []

    init() throws {
        harness = try LoopHarness()
        loop.errorHandler = { [unowned self] error in self.errors.append(error) }
    }

    /// Closes what a test left open (clients it kept for its whole body), then the loop: a client the
    /// loop's context holds would otherwise keep its socket open after the test.
    deinit {
        for connection in TransportContext.of(loop).liveConnections { connection.destroy() }
        loop.close()
    }

    /// Runs the loop until `condition` holds (checked every millisecond and after each tick); throws
    /// after `seconds`.
    func run(until what: @autoclosure () -> String, seconds: Double = 10, _ condition: @escaping () -> Bool) throws {
        guard try harness.run(until: condition, within: seconds, interval: 0.001) else {
            throw HarnessError("timed out after \(seconds) s waiting for \(what())")
        }
    }

    /// Runs the loop for `seconds` of loop time (to let things settle where absence is the point).
    func run(for seconds: Double) throws {
        let until = monotonicSeconds() + seconds
        try run(until: "time to pass", seconds: seconds + 5) { monotonicSeconds() >= until }
    }
}

