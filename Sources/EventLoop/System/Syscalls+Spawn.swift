// CWorkermanShims: its headers pull in the spawn types, and in a whole-module (release) build Swift
// attributes them to the shim module, so MemberImportVisibility wants it imported here.
import CWorkermanShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `Syscalls.spawn` starts: one description shared by the supervisor (its worker children) and the
/// test kit (servers under test, reference clients), so both get the same clean start.
package struct SpawnRequest {
    /// A step `posix_spawn` runs in the child before `exec`, in order.
    package enum FileAction {
        /// Opens `path` onto descriptor `fd`.
        case open(fd: CInt, path: String, flags: CInt, mode: mode_t)
        /// Duplicates `source` onto `fd`. Onto itself it clears close-on-exec (glibc 2.29 and later).
        case duplicate(CInt, onto: CInt)
        /// Closes `fd`; glibc ignores a descriptor that is no longer open.
        case close(CInt)
    }

    /// The program: a path, or a name looked up on `PATH` when `searchPath`.
    package var program: String
    /// The whole argument vector, `argv[0]` included.
    package var arguments: [String]
    /// The child's whole environment (nothing is inherited implicitly).
    package var environment: [String: String]
    package var fileActions: [FileAction] = []
    /// Signals blocked in the child; every other one is unblocked, and all get their default action.
    package var blockedSignals: [CInt] = []
    /// Start a process group of its own (`kill(-pid, …)` then reaches what the child starts).
    package var ownProcessGroup = false
    /// Start a session of its own (`setsid`), detached from the terminal.
    package var newSession = false
    /// Look `program` up on `PATH` (`posix_spawnp`).
    package var searchPath = false

    package init(program: String, arguments: [String], environment: [String: String]) {
        self.program = program
        self.arguments = arguments
        self.environment = environment
    }

    /// This process's environment as a dictionary, without the variables whose names start with one of
    /// `droppedPrefixes`.
    package static func currentEnvironment(droppingPrefixes droppedPrefixes: [String] = []) -> [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "="), !droppedPrefixes.contains(where: { text.hasPrefix($0) }) {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }
}

extension Syscalls {
    /// `POSIX_SPAWN_SETSID` (glibc 2.26 and later): a C macro Swift does not import.
    private static let spawnNewSession = CShort(0x80)

    /// Wraps `posix_spawn(3)` (`posix_spawnp` when `request.searchPath`): safe in a process with threads,
    /// unlike a bare `fork`. The child starts with default signal handling and only
    /// `request.blockedSignals` blocked, whatever this process has: threads of a test runner block
    /// signals, and a child that inherited that mask would never see the SIGTERM that stops it.
    ///
    /// - Returns: The child's pid.
    /// - Throws: The error `posix_spawn` returns (it does not set `errno`); EINTR cannot happen.
    package static func spawn(_ request: SpawnRequest) throws(Errno) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for action in request.fileActions {
            switch action {
            case .open(let fd, let path, let flags, let mode):
                posix_spawn_file_actions_addopen(&actions, fd, path, flags, mode)
            case .duplicate(let source, let fd):
                posix_spawn_file_actions_adddup2(&actions, source, fd)
            case .close(let fd):
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in request.blockedSignals { sigaddset(&mask, signal) }
        posix_spawnattr_setsigmask(&attributes, &mask)
        var flags = CShort(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if request.ownProcessGroup {
            flags |= CShort(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        if request.newSession { flags |= spawnNewSession }
        posix_spawnattr_setflags(&attributes, flags)

        var cEnvironment: [UnsafeMutablePointer<CChar>?] = request.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        var cArguments: [UnsafeMutablePointer<CChar>?] = request.arguments.map { strdup($0) } + [nil]
        defer {
            cEnvironment.forEach { free($0) }
            cArguments.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result =
            request.searchPath
            ? posix_spawnp(&pid, request.program, &actions, &attributes, &cArguments, &cEnvironment)
            : posix_spawn(&pid, request.program, &actions, &attributes, &cArguments, &cEnvironment)
        guard result == 0 else { throw Errno(rawValue: result) }
        return pid
    }

    /// Wraps `waitpid(2)` with `WNOHANG`: reaps child `pid` (-1: any child) if it has exited.
    ///
    /// - Returns: The reaped child and its raw wait status, or nil while it runs.
    /// - Throws: `ECHILD` when there is no such child (not ours, or reaped already).
    package static func reapChild(_ pid: pid_t) throws(Errno) -> (pid: pid_t, status: CInt)? {
        var status: CInt = 0
        let reaped = try retrying("waitpid") { waitpid(pid, &status, WNOHANG) }
        return reaped == 0 ? nil : (reaped, status)
    }

    /// Wraps `waitpid(2)` without `WNOHANG`: blocks until child `pid` exits; returns its raw wait status.
    package static func waitForChild(_ pid: pid_t) throws(Errno) -> CInt {
        var status: CInt = 0
        _ = try retrying("waitpid") { waitpid(pid, &status, 0) }
        return status
    }
}
