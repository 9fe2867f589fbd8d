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
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        guard let commandLine = try? readText("/proc/\(pid)/cmdline") else { return nil }
        return commandLine.contains(marker) ? pid : nil
    }

    /// Writes `pid`.
    func write(_ pid: pid_t) throws(ProcessError) {
        try writeText("\(pid)\n", to: path)
    }

    func remove() { unlink(path) }

    /// Fails now, before anything starts, when the pid file cannot be written.
    func checkWritable() throws(ProcessError) {
        try checkFileWritable(path, what: "pid file")
    }
}

/// Whether `pid` has exited: no such process, or a zombie nobody has reaped yet. A daemon master's parent
/// is init, which in a container may reap late (or never), so `stop` must not wait for the reaping.
func processHasExited(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 && errno == ESRCH { return true }
    guard let stat = try? readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
        return kill(pid, 0) != 0 && errno == ESRCH
    }
    let state = stat[stat.index(after: close)...].first { $0 != " " }
    return state == "Z" || state == "X"
}

/// Fails when `path` cannot be opened for writing. A file this check had to create is removed again, so a
/// start that fails later leaves no empty pid file behind.
func checkFileWritable(_ path: String, what: String) throws(ProcessError) {
    var fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    var created = false
    if fd < 0 && errno == ENOENT {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        created = fd >= 0
    }
    guard fd >= 0 else {
        throw ProcessError(.fileUnwritable, "open \(what) \(path)", cause: Errno(rawValue: errno))
    }
    close(fd)
    if created { unlink(path) }
}

func readText(_ path: String) throws(ProcessError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ProcessError(.notRunning, "read \(path)", cause: Errno(rawValue: errno)) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
}

func writeText(_ text: String, to path: String) throws(ProcessError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ProcessError(.fileUnwritable, "write \(path)", cause: Errno(rawValue: errno)) }
    defer { close(fd) }
    var bytes = Array(text.utf8)
    let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw ProcessError(.fileUnwritable, "write \(path)", cause: Errno(rawValue: errno)) }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
