import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Programs started by a test as child processes: a server under test, a reference client (curl,
/// Python, a browser), a helper script. `spawn` uses `posix_spawn`, which is safe in a test runner full
/// of threads, and gives the child a clean start whatever the runner has: default signal handling and
/// nothing blocked (runner threads block signals, and a child would inherit that and never see the
/// SIGTERM that stops it), standard input from `/dev/null`, and none of the runner's other descriptors
/// (a leaked pipe end keeps a reader waiting; a leaked socket keeps a port open).
///
/// ```swift
/// let pid = try ChildProcess.spawn("curl", ["-s", url], output: .file(path, append: false), searchPath: true)
/// let code = ChildProcess.waitForExit(pid, seconds: 10)   // killed past the deadline: -1
/// ```
public enum ChildProcess {
    /// Where a child's standard output or standard error goes.
    public enum Stream: Sendable, Equatable {
        /// `/dev/null`.
        case null
        /// A file, created if missing (mode 0644), truncated first unless `append`.
        case file(String, append: Bool)
        /// A descriptor of this process, e.g. the write end of a pipe the test reads.
        case descriptor(CInt)
        /// For standard error only: wherever standard output goes.
        case output
    }

    /// A program that could not be started.
    public struct SpawnError: Error, CustomStringConvertible {
        public let program: String
        public let cause: Errno

        public var description: String { "cannot start \(program): \(cause)" }
    }

    /// What `reap` found.
    public enum WaitResult: Equatable, Sendable {
        /// Still running.
        case running
        /// Exited (now reaped) with this raw wait status.
        case exited(CInt)
        /// Not a child of this process, or reaped already.
        case notAChild
    }

    /// Starts `program` with `arguments` (without `argv[0]`, which is `program`).
    ///
    /// - Parameters:
    ///   - environment: Variables set for the child on top of this process's environment.
    ///   - droppedPrefixes: Inherited variables whose names start with one of these are not passed on
    ///     (a test's own knobs, or a framework's role variables that would make the child think it is
    ///     someone else's worker).
    ///   - searchPath: Look `program` up on `PATH` (`posix_spawnp`).
    ///   - ownProcessGroup: Start a process group of its own, so `kill(-pid, …)` reaches the helpers it
    ///     starts (a browser).
    /// - Returns: The child's pid; reap it with `reap` or `waitForExit`.
    public static func spawn(
        _ program: String,
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        droppingVariablesWithPrefixes droppedPrefixes: [String] = [],
        output: Stream = .null,
        errors: Stream = .output,
        searchPath: Bool = false,
        ownProcessGroup: Bool = false
    ) throws(SpawnError) -> pid_t {
        var request = SpawnRequest(
            program: program,
            arguments: [program] + arguments,
            environment: SpawnRequest.currentEnvironment(droppingPrefixes: droppedPrefixes)
                .merging(environment) { _, ours in ours }
        )
        request.fileActions = [
            .open(fd: STDIN_FILENO, path: "/dev/null", flags: O_RDONLY, mode: 0),
            redirection(of: STDOUT_FILENO, to: output),
            redirection(of: STDERR_FILENO, to: errors),
        ]
        // After the redirections, which may duplicate one of these: a descriptor closed meanwhile by
        // another thread is skipped (glibc ignores EBADF for close actions).
        request.fileActions += openDescriptors().filter { $0 > STDERR_FILENO }.map { .close($0) }
        request.searchPath = searchPath
        request.ownProcessGroup = ownProcessGroup
        do {
            return try Syscalls.spawn(request)
        } catch {
            throw SpawnError(program: program, cause: error)
        }
    }

    private static func redirection(of fd: CInt, to stream: Stream) -> SpawnRequest.FileAction {
        switch stream {
        case .null:
            .open(fd: fd, path: "/dev/null", flags: O_WRONLY, mode: 0)
        case .file(let path, let append):
            .open(fd: fd, path: path, flags: O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), mode: 0o644)
        case .descriptor(let source):
            .duplicate(source, onto: fd)
        case .output:
            .duplicate(STDOUT_FILENO, onto: fd)
        }
    }

    /// This process's open descriptors (from `/proc/self/fd`).
    static func openDescriptors() -> [CInt] {
        // The listing's own descriptor is among the names but closed once listed: a close action for it
        // is harmless (glibc ignores EBADF there).
        ((try? Syscalls.directoryEntries("/proc/self/fd")) ?? []).compactMap { CInt($0) }
    }

    // MARK: - Exit

    /// Reaps child `pid` if it has exited, without waiting.
    public static func reap(_ pid: pid_t) -> WaitResult {
        do {
            guard let reaped = try Syscalls.reapChild(pid) else { return .running }
            return .exited(reaped.status)
        } catch {
            return .notAChild
        }
    }

    /// The exit code of raw wait status `status`, or 128 + the signal that killed the process (as a shell
    /// reports it).
    public static func exitCode(_ status: CInt) -> CInt {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Blocks until child `pid` exits, at most `seconds`, then kills it (SIGKILL) and reaps it.
    ///
    /// - Returns: Its exit code (`exitCode`), -1 when it was killed at the deadline, -2 when it is not
    ///   a child of this process.
    @discardableResult
    public static func waitForExit(_ pid: pid_t, seconds: Double) -> CInt {
        var outcome = WaitResult.running
        _ = WaitUntil.holds(within: seconds) {
            outcome = reap(pid)
            return outcome != .running
        }
        switch outcome {
        case .exited(let status): return exitCode(status)
        case .notAChild: return -2
        case .running:
            killAndReap(pid)
            return -1
        }
    }

    /// SIGKILLs child `pid` (or its process group, for a negative pid) and reaps it.
    public static func killAndReap(_ pid: pid_t) {
        // Not ours or gone already: nothing to kill or reap, and nothing to report to a test's clean-up.
        try? Syscalls.signal(pid, SIGKILL)
        _ = try? Syscalls.waitForChild(abs(pid))  // at once: SIGKILL cannot be caught
    }
}
