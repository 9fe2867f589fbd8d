import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

/// A `ChildLauncher` that starts no process: it hands out made-up pids, records every launch and signal,
/// and reports the exits a test scripts. With a loop on a `ManualClock`, the supervisor's restart,
/// back-off, stop and reload decisions run in microseconds.
///
/// ```swift
/// let launcher = ScriptedLauncher()
/// // … a supervisor started with it launches two children, 1000 and 1001
/// launcher.exit(1000, status: 1 << 8)   // exit code 1
/// supervisor.reapChildren()              // where SIGCHLD would run it
/// ```
package final class ScriptedLauncher: ChildLauncher {
    /// Every launch, in order, with the pid it got.
    package private(set) var launches: [(pid: pid_t, launch: ChildLaunch)] = []
    /// Every signal sent, in order.
    package private(set) var signals: [(pid: pid_t, signal: CInt)] = []
    /// Processes launched and not yet reaped.
    package private(set) var running: Set<pid_t> = []
    /// The next this many launches fail (a binary that cannot be started).
    package var failingLaunches = 0
    private var exits: [(pid: pid_t, status: CInt)] = []
    private var nextPID: pid_t

    package init(firstPID: pid_t = 1000) { nextPID = firstPID }

    package func spawn(_ launch: ChildLaunch) throws(ProcessError) -> pid_t {
        if failingLaunches > 0 {
            failingLaunches -= 1
            throw ProcessError(.spawnFailed, "start \(launch.executable)", detail: "scripted failure")
        }
        let pid = nextPID
        nextPID += 1
        launches.append((pid, launch))
        running.insert(pid)
        return pid
    }

    package func signal(_ pid: pid_t, _ signal: CInt) {
        signals.append((pid, signal))
    }

    package func reap() -> (pid: pid_t, status: CInt)? {
        exits.isEmpty ? nil : exits.removeFirst()
    }

    /// Scripts process `pid`'s exit with raw wait status `status` (exit code `n` is `n << 8`, a signal
    /// its number); the next `reap()` reports it.
    package func exit(_ pid: pid_t, status: CInt = 0) {
        guard running.remove(pid) != nil else { return }
        exits.append((pid, status))
    }

    /// Pids that got `signal`, in order.
    package func pids(signalled signal: CInt) -> [pid_t] {
        signals.filter { $0.signal == signal }.map(\.pid)
    }

    /// The latest launch's pid.
    package var lastPID: pid_t? { launches.last?.pid }
}
