import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Where a component reports what went wrong without failing anyone's call: a peer's bad request, a
/// lost server, a dropped publish. Each server and client has a `log` property of this type; the default
/// writes a line to standard error, which a worker process sends to the terminal (debug mode) or to the
/// stdout file (daemon mode).
///
/// ```swift
/// channelServer.log = { line in myLogger.warning(line) }
/// ```
public typealias ComponentLogger = (String) -> Void

/// The default loggers.
public enum ComponentLog {
    /// `YYYY-MM-DD HH:MM:SS pid:N message` on standard error (the default of every component's `log`).
    public static func standardError(_ message: String) {
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let stamp = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        // One write call per line, so lines from several processes sharing the file do not interleave. A
        // log that cannot be written loses the line: there is nowhere better to report that.
        try? Syscalls.writeAll(STDERR_FILENO, "\(stamp) pid:\(getpid()) \(message)\n".utf8)
    }
}
