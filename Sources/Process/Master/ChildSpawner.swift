import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The environment a child reads its role from (DESIGN decision 5).
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
    static let all = [role, plan, identity, workerID, slot, board, listenFD, masterPID, logFile, daemon]

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
/// safe in a process with threads, unlike a bare `fork` (DESIGN decision 5).
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
        newSession: Bool = false,
        standardOutput: String? = nil,
        blockedSignals: [CInt] = []
    ) throws(ProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let listenFD {
            // dup2 onto itself clears close-on-exec (glibc ≥ 2.29), so fd 3 passes either way.
            posix_spawn_file_actions_adddup2(&actions, listenFD, ChildEnvironment.inheritedListenFD)
        }
        if let standardOutput {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Children start with default signal handling and only `blockedSignals` blocked, whatever the
        // master has.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in blockedSignals { sigaddset(&mask, signal) }
        posix_spawnattr_setsigmask(&attributes, &mask)
        var flags = CShort(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newSession { flags |= CShort(0x80) }  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), not exported to Swift
        posix_spawnattr_setflags(&attributes, flags)

        var merged: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                merged[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        for (key, value) in environment { merged[key] = value }
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer {
            cEnvironment.forEach { free($0) }
            cArguments.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, &cArguments, &cEnvironment)
        guard status == 0 else {
            throw ProcessError(.spawnFailed, "start \(executable)", cause: Errno(rawValue: status))
        }
        return pid
    }

    /// The path of the running executable on disk, resolved once at start: `argv[0]` made absolute
    /// (a relative path is relative to the start directory), falling back to `/proc/self/exe`.
    static func executablePath() -> String {
        let first = CommandLine.arguments.first ?? ""
        if first.contains("/"), let resolved = realpath(first, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return first
    }
}
