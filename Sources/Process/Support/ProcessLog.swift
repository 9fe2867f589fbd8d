import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The framework log: `YYYY-MM-DD HH:MM:SS pid:N message` lines appended to the log file, and echoed to
/// the terminal unless daemonised (Workerman's `Worker::log`).
struct ProcessLog {
    let path: String
    var echo: Bool

    func write(_ message: String) {
        let line = "\(Self.timestamp()) pid:\(getpid()) \(message)\n"
        // O_APPEND makes each line one atomic append, so processes sharing the file never interleave. A log
        // that cannot be written loses the line: there is nowhere better to report that.
        if let fd = try? Syscalls.open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644) {
            try? Syscalls.writeAll(fd, line.utf8)
            try? Syscalls.close(fd)
        }
        if echo { say(message) }
    }

    /// `YYYY-MM-DD HH:MM:SS` in local time.
    static func timestamp(_ seconds: time_t = time(nil)) -> String {
        var seconds = seconds
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }
}

/// Writes a line to standard output, ignoring errors (Workerman's `safeEcho`).
func say(_ text: String, to fd: CInt = 1) {
    try? Syscalls.writeAll(fd, (text + "\n").utf8)
}
