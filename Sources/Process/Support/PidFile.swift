import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The master's pid file, checked before it is obeyed: a pid file left by a crash or a reboot names a
/// process that is gone, or one that is not ours (pids are reused), and is then ignored.
struct PidFile {
    let path: String
    /// A word the master's command line must contain for a pid to count as ours.
    let marker: String

    /// The pid of a live master, or nil when there is none (missing, stale or foreign pid file).
    func liveMaster() -> pid_t? {
        guard let text = try? readText(path), let pid = pid_t(text.trimmingWhitespace()), pid > 0, pid != getpid() else {
            return nil
        }
        // EPERM: alive, but another user's; its command line still tells whether it is ours.
        do { try Syscalls.signal(pid, 0) } catch where error == .notPermitted {} catch { return nil }
        guard let commandLine = try? readText("/proc/\(pid)/cmdline") else { return nil }
        return commandLine.contains(marker) ? pid : nil
    }

    /// Writes `pid`.
    func write(_ pid: pid_t) throws(ProcessError) {
        try writeText("\(pid)\n", to: path)
    }

    func remove() { try? Syscalls.unlink(path) }

    /// Fails now, before anything starts, when the pid file cannot be written.
    func checkWritable() throws(ProcessError) {
        try checkFileWritable(path, what: "pid file")
    }
}

/// Whether `pid` has exited: no such process, or a zombie nobody has reaped yet. A daemon master's parent
/// is init, which in a container may reap late (or never), so `stop` must not wait for the reaping.
func processHasExited(_ pid: pid_t) -> Bool {
    guard processExists(pid) else { return true }
    guard let stat = try? readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
        return !processExists(pid)
    }
    let state = stat[stat.index(after: close)...].first { $0 != " " }
    return state == "Z" || state == "X"
}

/// Whether a process `pid` exists (`kill(pid, 0)`: only ESRCH says it does not).
func processExists(_ pid: pid_t) -> Bool {
    do {
        try Syscalls.signal(pid, 0)
        return true
    } catch {
        return error != Errno(rawValue: ESRCH)
    }
}

/// Fails when `path` cannot be opened for writing. A file this check had to create is removed again, so a
/// start that fails later leaves no empty pid file behind.
func checkFileWritable(_ path: String, what: String) throws(ProcessError) {
    do {
        let fd: CInt
        var created = false
        do {
            fd = try Syscalls.open(path, O_WRONLY | O_APPEND)
        } catch .noSuchFileOrDirectory {
            fd = try Syscalls.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            created = true
        }
        try? Syscalls.close(fd)
        if created { try? Syscalls.unlink(path) }
    } catch {
        throw ProcessError(.fileUnwritable, "open \(what) \(path)", cause: error)
    }
}

/// The text of the file at `path`, NUL bytes (the separators of `/proc/<pid>/cmdline`) read as spaces.
func readText(_ path: String) throws(ProcessError) -> String {
    do {
        let bytes = try Syscalls.readFile(path)
        return String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    } catch {
        throw ProcessError(.notRunning, "read \(path)", cause: error)
    }
}

func writeText(_ text: String, to path: String) throws(ProcessError) {
    do {
        try Syscalls.writeFile(path, text.utf8)
    } catch {
        throw ProcessError(.fileUnwritable, "write \(path)", cause: error)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
