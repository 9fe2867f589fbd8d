import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The environment a child reads its role from.
enum ChildEnvironment {
    static let role = "WORKERMAN_ROLE"
    static let plan = "WORKERMAN_PLAN"
    static let identity = "WORKERMAN_IDENTITY"
    static let workerID = "WORKERMAN_WORKER_ID"
    static let slot = "WORKERMAN_SLOT"
    static let board = "WORKERMAN_BOARD"
    static let listenFD = "WORKERMAN_LISTEN_FD"
    static let masterPID = "WORKERMAN_MASTER_PID"
    static let logFile = "WORKERMAN_LOG"
    static let daemon = "WORKERMAN_DAEMON"
    static let all = [
        role, plan, identity, workerID, slot, board, listenFD, masterPID, logFile, daemon,
        MasterHandover.listenersVariable, MasterHandover.readyVariable,
    ]

    /// The descriptor an inherited listener arrives on in a child.
    static let inheritedListenFD: CInt = 3

    /// Reads and removes our variables, so programs the child starts do not think they are children.
    static func take() -> [String: String] {
        var values: [String: String] = [:]
        for key in all {
            if let value = getenv(key) {
                values[key] = String(cString: value)
                unsetenv(key)
            }
        }
        return values
    }
}

/// Starts a child: our own executable by its path on disk (so a reload after a deploy runs the new
/// binary), its role in the environment, and its listener, if any, as descriptor 3. `posix_spawn` is
/// safe in a process with threads, unlike a bare `fork`.
enum ChildSpawner {
    /// Starts `executable` with default signal handling and only `blockedSignals` blocked.
    ///
    /// A worker child is started with the control signals blocked: from exec until its loop watches them
    /// (which unblocks them) it runs `main` up to `runAll()`, and a reload, `connections` or status signal
    /// arriving then would kill it by its default action. Blocked, it stays pending and is handled once the
    /// loop runs.
    static func spawn(
        executable: String,
        arguments: [String],
        environment: [String: String],
        listenFD: CInt?,
        inherited: [(CInt, onto: CInt)] = [],
        newSession: Bool = false,
        standardOutput: String? = nil,
        blockedSignals: [CInt] = []
    ) throws(ProcessError) -> pid_t {
        var request = SpawnRequest(
            program: executable,
            arguments: arguments,
            environment: SpawnRequest.currentEnvironment().merging(environment) { _, ours in ours }
        )
        if let listenFD {
            request.fileActions.append(.duplicate(listenFD, onto: ChildEnvironment.inheritedListenFD))
        }
        for (source, target) in inherited { request.fileActions.append(.duplicate(source, onto: target)) }
        if let standardOutput {
            request.fileActions += [
                .open(fd: STDIN_FILENO, path: "/dev/null", flags: O_RDONLY, mode: 0),
                .open(fd: STDOUT_FILENO, path: standardOutput, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644),
                .duplicate(STDOUT_FILENO, onto: STDERR_FILENO),
            ]
        }
        request.blockedSignals = blockedSignals
        request.newSession = newSession
        do {
            return try Syscalls.spawn(request)
        } catch {
            throw ProcessError(.spawnFailed, "start \(executable)", cause: error)
        }
    }

    /// The path of the running executable on disk, resolved once at start: `argv[0]` made absolute
    /// (a relative path is relative to the start directory), falling back to `/proc/self/exe`.
    static func executablePath() -> String {
        let first = CommandLine.arguments.first ?? ""
        if first.contains("/"), let resolved = try? Syscalls.resolvedPath(first) { return resolved }
        return (try? Syscalls.linkTarget("/proc/self/exe")) ?? first
    }
}
