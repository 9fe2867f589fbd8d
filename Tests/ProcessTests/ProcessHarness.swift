// The real-process harness: a fresh directory per test, the test server found next to the test bundle,
// commands run with posix_spawn and bounded waits, plain-socket clients, status parsing, and a cleanup that
// always leaves no process behind (stop, then SIGKILL by pid whatever is left).
//
// Waiting is async (polling with `Task.sleep`), so a test that waits for a process does not hold one of
// the few threads of the shared test pool; only short socket calls block.

import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Time and polling

/// Monotonic seconds.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Polls `condition` every few milliseconds until it holds; throws once `seconds` pass without it. This is
/// the only way the tests wait: for a condition, with a deadline, never for a fixed time.
func waitUntil(_ what: @autoclosure () -> String, seconds: Double = 5, _ condition: () async throws -> Bool) async throws {
    let began = monotonicSeconds()
    while true {
        if try await condition() {
            trace("waited \(monotonicSeconds() - began) s for \(what())")
            return
        }
        if monotonicSeconds() - began >= seconds { throw HarnessError("timed out after \(seconds) s waiting for \(what())") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Runs `body` with a fresh test server and always cleans up after it, whether `body` returns or throws:
/// stop, then SIGKILL whatever of this test is left, then remove the directory.
func withTestServer(_ environment: [String: String] = [:], _ body: (TestServer) async throws -> Void) async throws {
    let server = try TestServer(environment)
    do {
        try await body(server)
    } catch {
        await server.cleanup()
        throw error
    }
    await server.cleanup()
}

// MARK: - Files and /proc

func readFile(_ path: String) -> String? { TestFiles.readText(path) }
func writeFile(_ path: String, _ text: String) throws { try TestFiles.write(text, to: path) }

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

// The /proc helpers the tests use, by their short names (WorkermanTestSupport's ProcessTable).
func isAlive(_ pid: pid_t) -> Bool { ProcessTable.isAlive(pid) }
func parentPID(_ pid: pid_t) -> pid_t? { ProcessTable.parent(of: pid) }
func sessionID(_ pid: pid_t) -> pid_t? { ProcessTable.session(of: pid) }
func commandLine(_ pid: pid_t) -> String { ProcessTable.commandLine(of: pid) }
func descendants(of root: pid_t) -> [pid_t] { ProcessTable.descendants(of: root) }

// MARK: - Commands

struct CommandResult: CustomStringConvertible {
    var pid: pid_t
    /// The exit code, 128 + signal when killed, -1 when it did not end in time (then it was killed).
    var status: CInt
    var output: String
    var errors: String
    var seconds: Double
    var all: String { output + errors }
    var description: String { "exit \(status) after \(String(Int(seconds * 1000))) ms\nstdout:\n\(output)\nstderr:\n\(errors)" }
}

/// A command started and not yet waited for.
struct RunningCommand {
    let pid: pid_t
    let outputPath: String
    let errorPath: String
    let startedAt: Double
}

/// Starts a program with stdout and stderr to files, without the test's own `WM_`/`WORKERMAN_` variables
/// and without any descriptor of this process (the test runner's own pipes must not leak into a daemon).
func spawnProgram(_ path: String, _ arguments: [String], environment extra: [String: String], output: String, errors: String, searchPath: Bool = false) throws -> pid_t {
    try ChildProcess.spawn(
        path,
        arguments,
        environment: extra,
        droppingVariablesWithPrefixes: ["WM_", "WORKERMAN_"],
        output: .file(output, append: false),
        errors: .file(errors, append: false),
        searchPath: searchPath
    )
}

/// Waits for our child `pid` at most `seconds`; SIGKILLs it past that. Returns the exit code, -1 when it
/// was killed, -2 when it is not our child. Async, so the wait holds no thread of the test pool.
func waitForExit(_ pid: pid_t, seconds: Double) async -> CInt {
    let deadline = monotonicSeconds() + seconds
    while true {
        switch ChildProcess.reap(pid) {
        case .exited(let status): return ChildProcess.exitCode(status)
        case .notAChild: return -2
        case .running: break
        }
        if monotonicSeconds() >= deadline {
            ChildProcess.killAndReap(pid)
            return -1
        }
        try? await Task.sleep(for: .milliseconds(2))
    }
}

// MARK: - The test server

/// One test's server: its own directory (pid, log, status, stdout and port files) and environment.
final class TestServer {
    /// The test server program, built next to the test bundle (`swift build --build-tests`).
    static let binary: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let me = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        var directory = me
        // The bundle is `<build>/debug/<package>PackageTests.xctest` (an executable on Linux); walk up a few
        // levels in case a runner nests it deeper.
        for _ in 0..<4 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            let candidate = directory + "/WorkermanProcessTestServer"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return "WorkermanProcessTestServer"
    }()

    let directory: String
    var environment: [String: String]
    /// The program commands run (a copy in the test's directory for the failed-upgrade test).
    var program = TestServer.binary
    /// Every pid this test saw: commands, masters, children. Cleanup kills what is left of them.
    private(set) var seen: Set<pid_t> = []
    private var commandCount = 0

    init(_ extra: [String: String] = [:]) throws {
        directory = try TestFiles.makeTemporaryDirectory("wm-process")
        environment = ["WM_TEST_DIR": directory, "WM_STOP_TIMEOUT": "2", "WM_TEST_PID": String(getpid())]
        for (key, value) in extra { environment[key] = value }
        guard access(Self.binary, X_OK) == 0 else {
            throw HarnessError("test server not found next to the test bundle (\(Self.binary)); run swift build --build-tests")
        }
    }

    var pidFile: String { environment["WM_PID_FILE"] ?? "\(directory)/server.pid" }
    var logFile: String { environment["WM_LOG_FILE"] ?? "\(directory)/server.log" }
    var statusFile: String { "\(pidFile).status" }
    var stdoutFile: String { "\(directory)/stdout.log" }
    var log: String { readFile(logFile) ?? "" }

    // MARK: Commands

    /// Starts `./server <arguments>` without waiting.
    func launch(_ arguments: [String]) throws -> RunningCommand {
        commandCount += 1
        let output = "\(directory)/command-\(commandCount).out"
        let errors = "\(directory)/command-\(commandCount).err"
        let started = monotonicSeconds()
        let pid = try spawnProgram(program, arguments, environment: environment, output: output, errors: errors)
        seen.insert(pid)
        return RunningCommand(pid: pid, outputPath: output, errorPath: errors, startedAt: started)
    }

    /// Waits for a launched command at most `seconds` (killed past that: status -1).
    func finish(_ command: RunningCommand, seconds: Double = 10) async -> CommandResult {
        let status = await waitForExit(command.pid, seconds: seconds)
        trace("command \(command.pid) ended \(status) after \(monotonicSeconds() - command.startedAt)")
        return CommandResult(
            pid: command.pid,
            status: status,
            output: readFile(command.outputPath) ?? "",
            errors: readFile(command.errorPath) ?? "",
            seconds: monotonicSeconds() - command.startedAt
        )
    }

    /// Runs `./server <arguments>` to its end, at most `seconds`.
    func run(_ arguments: [String], seconds: Double = 10) async throws -> CommandResult {
        let result = await finish(try launch(arguments), seconds: seconds)
        noteMaster()
        return result
    }

    /// `start -d`, expected to succeed, then waits until every process serves. Returns the port.
    @discardableResult
    func startDaemon(processes: Int = 3) async throws -> UInt16 {
        let result = try await run(["start", "-d"])
        guard result.status == 0 else { throw HarnessError("start -d failed: \(result)") }
        let port = try await waitForPort()
        try await waitUntilServing(processes)
        return port
    }

    // MARK: State

    /// The live master named by the pid file.
    func masterPID() -> pid_t? {
        guard let text = readFile(pidFile), let pid = pid_t(text.filter { !$0.isWhitespace }), isAlive(pid) else { return nil }
        seen.insert(pid)
        return pid
    }

    private func noteMaster() {
        if let master = masterPID() { seen.formUnion(descendants(of: master)) }
    }

    func waitForPort(seconds: Double = 10) async throws -> UInt16 {
        var port: UInt16?
        try await waitUntil("the port file in \(directory)", seconds: seconds) {
            port = readFile("\(directory)/port").flatMap { UInt16($0.filter(\.isNumber)) }
            return port != nil && port != 0
        }
        return port!
    }

    /// Children the status board shows running (state running and alive), with their worker index.
    func runningChildren() -> [(pid: pid_t, worker: Int)] {
        guard let board = try? StatusBoard.open(path: statusFile, writable: false) else { return [] }
        var found: [(pid_t, Int)] = []
        for index in 0..<board.slotCount {
            let record = board.slot(index).pointee
            if record.state == SlotRecord.running, record.pid > 0, isAlive(record.pid) {
                found.append((record.pid, Int(record.workerIndex)))
            }
        }
        seen.formUnion(found.map(\.0))
        return found
    }

    /// Running pids of the echo worker (worker index 0).
    func echoChildren() -> Set<pid_t> { Set(runningChildren().filter { $0.worker == 0 }.map(\.pid)) }

    /// Waits until `count` children are running, every one a child of the master.
    @discardableResult
    func waitUntilServing(_ count: Int, seconds: Double = 10) async throws -> [pid_t] {
        var pids: [pid_t] = []
        try await waitUntil("\(count) running children", seconds: seconds) {
            guard let master = masterPID() else { return false }
            pids = runningChildren().map(\.pid)
            return pids.count == count && pids.allSatisfy { parentPID($0) == master }
        }
        return pids
    }

    /// Total requests the status board counts over all children.
    func totalRequests() -> Int {
        guard let board = try? StatusBoard.open(path: statusFile, writable: false) else { return 0 }
        return (0..<board.slotCount).reduce(0) { $0 + board.slot($1).pointee.statistics.totalRequest }
    }

    /// `status`, parsed.
    func status() async throws -> StatusOutput {
        let result = try await run(["status"])
        guard result.status == 0 else { throw HarnessError("status failed: \(result)") }
        return try StatusOutput(result.output)
    }

    /// Processes of this test still alive: those it saw, their descendants, and any process that maps a
    /// file of this test's directory (the status board) or carries its directory in its environment.
    func livingProcesses() -> [pid_t] {
        var pids = seen
        if let master = masterPID() { pids.insert(master) }
        for pid in Array(pids) where isAlive(pid) { pids.formUnion(descendants(of: pid)) }
        for row in ProcessTable.all() where row.pid != getpid() && !pids.contains(row.pid) {
            if let maps = readFile("/proc/\(row.pid)/maps"), maps.contains(directory + "/") {
                pids.insert(row.pid)
            } else if let environ = readFile("/proc/\(row.pid)/environ"), environ.contains("WM_TEST_DIR=\(directory)\0") {
                pids.insert(row.pid)
            }
        }
        return pids.filter(isAlive).sorted()
    }

    /// Always run (by `withTestServer`): stop the server, then SIGKILL by pid every process of this test
    /// that is left, reap our own children, and remove the directory.
    func cleanup() async {
        if masterPID() != nil {
            _ = try? await run(["stop"], seconds: 6)
        }
        for _ in 0..<3 {
            let left = livingProcesses()
            if left.isEmpty { break }
            for pid in left where isOurs(pid) { kill(pid, SIGKILL) }
            _ = try? await waitUntil("killed processes to go", seconds: 2) { left.allSatisfy { !isAlive($0) } }
        }
        // Reap any command or foreground master of ours that ended.
        for pid in seen {
            var status: CInt = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
        TestFiles.removeTree(directory)
    }

    /// A pid that is still one of this test's processes (not a recycled pid): our binary, titled, or ours
    /// by map or environment.
    private func isOurs(_ pid: pid_t) -> Bool {
        let line = commandLine(pid)
        if line.contains("WorkermanProcessTestServer") || line.hasPrefix("WorkerMan:") { return true }
        if line.hasPrefix("sleep") && parentPID(pid) == getpid() { return true }
        if let maps = readFile("/proc/\(pid)/maps"), maps.contains(directory + "/") { return true }
        return readFile("/proc/\(pid)/environ")?.contains("WM_TEST_DIR=\(directory)\0") ?? false
    }

    /// Remembers a pid to kill at cleanup (e.g. a helper process).
    func track(_ pid: pid_t) { seen.insert(pid) }
}

// MARK: - Status output

/// The `status` command's output: the exit table and the process table, column by column.
struct StatusOutput {
    static let columns = [
        "pid", "memory", "listening", "timestamp", "worker_name", "connections", "total_request", "qps",
        "packet_err", "thunder_herd", "client_close", "send_fail", "throw_exception", "timers", "suc/total", "state",
    ]
    let text: String
    let globalLines: [String]
    /// worker_name, exit_status, exit_count.
    let exits: [[String]]
    let header: [String]
    let rows: [[String: String]]
    let summary: [String]

    init(_ text: String) throws {
        self.text = text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func isRule(_ line: String) -> Bool { line.hasPrefix("---") }
        guard let exitHeader = lines.firstIndex(where: { $0.hasPrefix("worker_name") }),
            let processHeader = lines.firstIndex(where: { $0.hasPrefix("pid ") })
        else { throw HarnessError("status output without its tables:\n\(text)") }
        globalLines = Array(lines[..<exitHeader])
        exits = lines[(exitHeader + 1)...].prefix { !isRule($0) }.map { $0.split(separator: " ").map(String.init) }
        header = lines[processHeader].split(separator: " ").map(String.init)
        var rows: [[String: String]] = []
        for line in lines[(processHeader + 1)...].prefix(while: { !isRule($0) }) where !line.isEmpty {
            let tokens = line.split(separator: " ").map(String.init)
            guard tokens.count >= Self.columns.count else { throw HarnessError("short status row: \(line)") }
            var row: [String: String] = [:]
            for (index, name) in Self.columns.dropLast().enumerated() { row[name] = tokens[index] }
            row["state"] = tokens[(Self.columns.count - 1)...].joined(separator: " ")
            rows.append(row)
        }
        self.rows = rows
        let after = lines[(processHeader + 1)...].drop { !isRule($0) }.dropFirst()
        summary = after.first?.split(separator: " ").map(String.init) ?? []
    }

    func rows(worker: String) -> [[String: String]] { rows.filter { $0["worker_name"] == worker } }
    func row(pid: pid_t) -> [String: String]? { rows.first { $0["pid"] == String(pid) } }
}

// MARK: - Clients

struct ClientError: Error, CustomStringConvertible {
    enum Kind { case connect, send, closed, timeout }
    let kind: Kind
    /// Bytes of the answer received before the failure.
    let received: Int
    let detail: String
    var description: String { "\(kind) after \(received) byte(s): \(detail)" }
}

/// A blocking TCP client to 127.0.0.1 with bounded reads.
final class Client {
    private(set) var fd: CInt

    init(port: UInt16, timeout: Double = 5) throws(ClientError) {
        fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError(kind: .connect, received: 0, detail: "socket: errno \(errno)") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            fd = -1
            throw ClientError(kind: .connect, received: 0, detail: "connect to port \(port): errno \(error)")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// This end's port, as the server sees it in the remote address.
    var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    func send(_ text: String) throws(ClientError) {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws(ClientError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, CInt(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ClientError(kind: .send, received: 0, detail: "send: errno \(errno)")
            }
            offset += written
        }
    }

    /// Reads until `done` says the bytes so far are complete.
    func read(until done: ([UInt8]) -> Bool) throws(ClientError) -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !done(received) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                throw ClientError(kind: .closed, received: received.count, detail: "closed by the server")
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                throw ClientError(kind: .timeout, received: received.count, detail: "no answer in time")
            } else {
                throw ClientError(kind: .closed, received: received.count, detail: "recv: errno \(errno)")
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Waits (without blocking a thread) until an answer can be read, at most `seconds`.
    func waitUntilReadable(seconds: Double) async throws {
        try await waitUntil("an answer on the connection", seconds: seconds) {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, 0) == 1
        }
    }

    func readLine() throws(ClientError) -> String {
        let line = try read { $0.last == UInt8(ascii: "\n") }
        return String(line.dropLast())
    }

    /// Sends `text` to the echo worker and reads the echo back.
    func echo(_ text: String) throws(ClientError) -> String {
        try send(text)
        let expected = text.utf8.count
        return try read { $0.count >= expected }
    }

    /// Asks which process serves this connection.
    func servingPID() throws(ClientError) -> pid_t {
        try send("pid")
        let line = try readLine()
        guard let pid = pid_t(line) else { throw ClientError(kind: .closed, received: line.utf8.count, detail: "not a pid: \(line)") }
        return pid
    }
}

/// 127.0.0.1:`port` as a socket address.
func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// Binds `fd` to 127.0.0.1:`port`; returns the port bound (the kernel's pick for 0), or nil.
func bindLoopback(_ fd: CInt, port: UInt16 = 0) -> UInt16? {
    var address = loopbackAddress(port: port)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return bound ? UInt16(bigEndian: address.sin_port) : nil
}

/// A listening socket on 127.0.0.1 that holds a port (for the port-in-use test).
final class PortHolder {
    let fd: CInt
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, let port = bindLoopback(fd), listen(fd, 8) == 0 else {
            if fd >= 0 { close(fd) }
            throw HarnessError("cannot hold a port: errno \(errno)")
        }
        self.fd = fd
        self.port = port
    }

    deinit { close(fd) }
}

// MARK: - Threads for load

/// A thread that repeats `request` until `counters.stop`, counting each one that returns and recording
/// each error as a failure.
func repeatInBackground(_ counters: LoadCounters, _ request: @escaping @Sendable () throws -> Void) throws -> BackgroundThread {
    try BackgroundThread {
        while !counters.stop.load(ordering: .relaxed) {
            do {
                try request()
                counters.succeeded.add(1, ordering: .relaxed)
            } catch {
                counters.fail("\(error)")
            }
        }
    }
}

/// Counters shared by load threads and the test.
final class LoadCounters: Sendable {
    let stop = Atomic<Bool>(false)
    let succeeded = Atomic<Int>(0)
    /// Keep-alive requests resent on a new connection because the server had closed the idle one.
    let retried = Atomic<Int>(0)
    let failures = ThreadLock<[String]>([])

    func fail(_ text: String) { failures.withLock { $0.append(text) } }
    var failureList: [String] { failures.withLock { $0 } }
}

/// Timing notes on stderr when `WM_TRACE` is set (which wait took how long), for a slow or flaky run.
func trace(_ text: String) {
    guard getenv("WM_TRACE") != nil else { return }
    let line = "TRACE \(monotonicSeconds()) \(text)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
