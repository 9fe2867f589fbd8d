// The real-process harness: a fresh directory per test, the test server found next to the test bundle,
// commands run with posix_spawn and bounded waits, plain-socket clients, status parsing, and a cleanup that
// always leaves no process behind (stop, then SIGKILL by pid whatever is left).
//
// Waiting is async (polling with `Task.sleep`), so a test that waits for a process does not hold one of
// the few threads of the shared test pool; only short socket calls block.

import Synchronization
import Testing
import WorkermanProcess
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

func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HarnessError("cannot write \(path): errno \(errno)") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw HarnessError("short write to \(path)") }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, session, ...]; nil when gone.
func procStat(_ pid: pid_t) -> [String]? {
    guard pid > 0, let text = readFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].split(separator: " ").map(String.init)
}

/// Alive and not a zombie.
func isAlive(_ pid: pid_t) -> Bool {
    guard let fields = procStat(pid), let state = fields.first else { return false }
    return state != "Z" && state != "X"
}

func parentPID(_ pid: pid_t) -> pid_t? { procStat(pid).flatMap { pid_t($0[1]) } }
func sessionID(_ pid: pid_t) -> pid_t? { procStat(pid).flatMap { pid_t($0[3]) } }

/// The command line as `ps` shows it (NULs as spaces).
func commandLine(_ pid: pid_t) -> String {
    (readFile("/proc/\(pid)/cmdline") ?? "").map { $0 == "\0" ? " " : $0 }.reduce(into: "") { $0.append($1) }
}

/// Every pid on the machine with its parent.
func processTable() -> [(pid: pid_t, parent: pid_t)] {
    guard let directory = opendir("/proc") else { return [] }
    defer { closedir(directory) }
    var table: [(pid_t, pid_t)] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let pid = pid_t(name), let parent = parentPID(pid) else { continue }
        table.append((pid, parent))
    }
    return table
}

/// Living descendants of `root`.
func descendants(of root: pid_t) -> [pid_t] {
    let table = processTable()
    var found: [pid_t] = []
    var frontier = [root]
    while let next = frontier.popLast() {
        for row in table where row.parent == next && !found.contains(row.pid) {
            found.append(row.pid)
            frontier.append(row.pid)
        }
    }
    return found.filter(isAlive)
}

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

/// Exit code from a raw wait status.
func exitCode(_ status: CInt) -> CInt {
    status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// posix_spawn with stdin from /dev/null, stdout and stderr to files, and no other descriptor of this
/// process (the test runner's own pipes must not leak into a daemon).
func spawnProgram(_ path: String, _ arguments: [String], environment extra: [String: String], output: String, errors: String, searchPath: Bool = false) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    for fd in openDescriptors() where fd > 2 {
        posix_spawn_file_actions_addclose(&actions, fd)  // one closed meanwhile is skipped (EBADF is ignored)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, CShort(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    var merged: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        let text = String(cString: pointer)
        if let equals = text.firstIndex(of: "="), !text.hasPrefix("WM_"), !text.hasPrefix("WORKERMAN_") {
            merged[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        entry += 1
    }
    for (key, value) in extra { merged[key] = value }
    var cEnvironment: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
    var cArguments: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer {
        cEnvironment.forEach { free($0) }
        cArguments.forEach { free($0) }
    }
    var pid: pid_t = 0
    let result = searchPath
        ? posix_spawnp(&pid, path, &actions, &attributes, &cArguments, &cEnvironment)
        : posix_spawn(&pid, path, &actions, &attributes, &cArguments, &cEnvironment)
    guard result == 0 else { throw HarnessError("cannot start \(path): error \(result)") }
    return pid
}

/// This process's open descriptors.
func openDescriptors() -> [CInt] {
    guard let directory = opendir("/proc/self/fd") else { return [] }
    defer { closedir(directory) }
    let own = dirfd(directory)
    var found: [CInt] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let fd = CInt(name), fd != own { found.append(fd) }
    }
    return found
}

/// Waits for our child `pid` at most `seconds`; SIGKILLs it past that. Returns the exit code or -1.
func waitForExit(_ pid: pid_t, seconds: Double) async -> CInt {
    let deadline = monotonicSeconds() + seconds
    while true {
        var status: CInt = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return exitCode(status) }
        if result < 0 && errno != EINTR { return -2 }
        if monotonicSeconds() >= deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
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
    /// Every pid this test saw: commands, masters, children. Cleanup kills what is left of them.
    private(set) var seen: Set<pid_t> = []
    private var commandCount = 0

    init(_ extra: [String: String] = [:]) throws {
        // $TMPDIR, else the C library's temporary directory (P_tmpdir).
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? P_tmpdir
        var template = Array("\(base)/wm-process-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw HarnessError("mkdtemp failed: errno \(errno)")
        }
        directory = String(cString: made)
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
        let pid = try spawnProgram(Self.binary, arguments, environment: environment, output: output, errors: errors)
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
        for row in processTable() where row.pid != getpid() && !pids.contains(row.pid) {
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
        removeDirectory(directory)
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

func removeDirectory(_ path: String) {
    guard let directory = opendir(path) else { return }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name == "." || name == ".." { continue }
        let child = "\(path)/\(name)"
        if unlink(child) != 0 && errno == EISDIR { removeDirectory(child) }
    }
    closedir(directory)
    rmdir(path)
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
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
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

/// A listening socket on 127.0.0.1 that holds a port (for the port-in-use test).
final class PortHolder {
    let fd: CInt
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound, listen(fd, 8) == 0 else {
            if fd >= 0 { close(fd) }
            throw HarnessError("cannot hold a port: errno \(errno)")
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}

// MARK: - Threads for load

/// A plain thread (not the cooperative pool: these block on sockets).
final class BackgroundThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    private var thread = pthread_t()
    private var joined = false

    init(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw HarnessError("pthread_create: \(result)")
        }
    }

    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    deinit { join() }
}

/// Counters shared by load threads and the test.
final class LoadCounters: Sendable {
    let stop = Atomic<Bool>(false)
    let succeeded = Atomic<Int>(0)
    /// Keep-alive requests resent on a new connection because the server had closed the idle one.
    let retried = Atomic<Int>(0)
    let failures = Mutex<[String]>([])

    func fail(_ text: String) { failures.withLock { $0.append(text) } }
    var failureList: [String] { failures.withLock { $0 } }
}

/// Timing notes on stderr when `WM_TRACE` is set (which wait took how long), for a slow or flaky run.
func trace(_ text: String) {
    guard getenv("WM_TRACE") != nil else { return }
    let line = "TRACE \(monotonicSeconds()) \(text)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
