import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// What the supervisor asks for when it starts a process: a child worker, or a new master (`upgrade`).
package struct ChildLaunch {
    package var executable: String
    /// The whole argument vector, the process title first.
    package var arguments: [String]
    /// Our variables, added to this process's environment.
    package var environment: [String: String]
    /// A listener the child gets as descriptor 3.
    package var listenFD: CInt?
    /// More descriptors copied into the child: (ours, onto theirs).
    package var inherited: [(CInt, onto: CInt)] = []
    package var newSession = false
    /// Where standard output and error go (a daemon's); nil: inherited.
    package var standardOutput: String?
    /// Signals blocked in the child until its loop watches them.
    package var blockedSignals: [CInt] = []

    package init(
        executable: String, arguments: [String], environment: [String: String], listenFD: CInt? = nil,
        inherited: [(CInt, onto: CInt)] = [], newSession: Bool = false, standardOutput: String? = nil,
        blockedSignals: [CInt] = []
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.listenFD = listenFD
        self.inherited = inherited
        self.newSession = newSession
        self.standardOutput = standardOutput
        self.blockedSignals = blockedSignals
    }

    /// The value of one of our variables (tests read the slot or role the supervisor gave).
    package subscript(variable: String) -> String? { environment[variable] }
}

/// How the supervisor starts, signals and reaps processes: `posix_spawn`, `kill` and `waitpid` in a real
/// master (`SystemChildLauncher`), a script in tests (`ScriptedLauncher` in WorkermanTestSupport), so the
/// restart, back-off, stop and reload decisions are tested without a process dying on purpose.
package protocol ChildLauncher: AnyObject {
    /// Starts a process; returns its pid.
    func spawn(_ launch: ChildLaunch) throws(ProcessError) -> pid_t
    /// Sends `signal` to `pid`; a process already gone is not an error (its exit is on the way).
    func signal(_ pid: pid_t, _ signal: CInt)
    /// One child that exited, with its raw wait status; nil when none (yet).
    func reap() -> (pid: pid_t, status: CInt)?
}

/// The real thing: `posix_spawn`, `kill`, `waitpid(-1, WNOHANG)`.
package final class SystemChildLauncher: ChildLauncher {
    package init() {}

    package func spawn(_ launch: ChildLaunch) throws(ProcessError) -> pid_t {
        try ChildSpawner.spawn(
            executable: launch.executable,
            arguments: launch.arguments,
            environment: launch.environment,
            listenFD: launch.listenFD,
            inherited: launch.inherited,
            newSession: launch.newSession,
            standardOutput: launch.standardOutput,
            blockedSignals: launch.blockedSignals
        )
    }

    package func signal(_ pid: pid_t, _ signal: CInt) {
        try? Syscalls.signal(pid, signal)
    }

    package func reap() -> (pid: pid_t, status: CInt)? {
        // ECHILD (no children left) ends the caller's loop as "none exited yet" does.
        (try? Syscalls.reapChild(-1)) ?? nil
    }
}
