import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// What `/proc` says about processes, for tests that must find, check and clean up every process they
/// caused: a server's master, its workers, a daemon that is nobody's child. A zombie counts as gone.
///
/// ```swift
/// for pid in ProcessTable.descendants(of: master) { kill(pid, SIGKILL) }
/// ```
public enum ProcessTable {
    /// The fields of `/proc/PID/stat` after the command name: state, parent, process group, session, …;
    /// nil once the process is gone.
    public static func stat(_ pid: pid_t) -> [String]? {
        guard pid > 0, let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ").map(String.init)
    }

    /// Running (or stopped), neither gone nor a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard let state = stat(pid)?.first else { return false }
        return state != "Z" && state != "X"
    }

    public static func parent(of pid: pid_t) -> pid_t? { stat(pid).flatMap { pid_t($0[1]) } }

    public static func session(of pid: pid_t) -> pid_t? { stat(pid).flatMap { pid_t($0[3]) } }

    /// The command line as `ps` shows it: arguments joined by spaces (a process title shows as set).
    public static func commandLine(of pid: pid_t) -> String {
        String((readText("/proc/\(pid)/cmdline") ?? "").map { $0 == "\0" ? " " : $0 })
    }

    /// Every process on the machine with its parent.
    public static func all() -> [(pid: pid_t, parent: pid_t)] {
        // A process that exits while the table is read has no parent line any more: it is left out.
        ((try? Syscalls.directoryEntries("/proc")) ?? []).compactMap { name in
            guard let pid = pid_t(name), let parent = parent(of: pid) else { return nil }
            return (pid, parent)
        }
    }

    /// The living descendants of `root`: children, their children, and so on.
    public static func descendants(of root: pid_t) -> [pid_t] {
        let table = all()
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

    private static func readText(_ path: String) -> String? { TestFiles.readText(path) }
}
