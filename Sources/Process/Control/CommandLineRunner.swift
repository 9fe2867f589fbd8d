import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Carries out a command line: start (in the foreground or as a daemon), stop, restart, reload, status and
/// connections, with Workerman's messages and exit codes (usage errors exit 2, "not run" exits 1).
struct CommandLineRunner {
    let plan: [WorkerBase]
    let settings: ProcessSettings
    let paths: RuntimePaths
    let pidFile: PidFile
    let program: String

    init(plan: [WorkerBase], settings: ProcessSettings) {
        self.plan = plan
        self.settings = settings
        let executable = ChildSpawner.executablePath()
        self.paths = RuntimePaths(settings: settings, executable: executable)
        self.program = CommandLine.arguments.first ?? executable
        let name = executable.split(separator: "/").last.map(String.init) ?? executable
        self.pidFile = PidFile(path: paths.pidFile, marker: name)
    }

    func run(arguments: [String]) -> CInt {
        let command: ControlCommand
        do {
            command = try ControlCommand.parse(arguments)
        } catch {
            say("\(error.detail ?? error.description)", to: 2)
            say(ControlCommand.usage(program: program), to: 2)
            return 2
        }
        let log = ProcessLog(path: paths.logFile, echo: true)
        switch command {
        case .start(let daemon):
            return start(daemon: daemon || settings.daemonize, log: log)
        case .restart(let daemon, let graceful):
            if pidFile.liveMaster() != nil {
                let stopped = stop(graceful: graceful, log: log)
                guard stopped == 0 else { return stopped }
            }
            return start(daemon: daemon || settings.daemonize, log: log)
        case .stop(let graceful):
            return stop(graceful: graceful, log: log)
        case .reload(let graceful):
            guard let master = pidFile.liveMaster() else { return notRunning(log) }
            try? Syscalls.signal(master, graceful ? SIGUSR2 : SIGUSR1)
            log.write("Workerman[\(paths.startFile)] reload\(graceful ? " -g" : "")")
            return 0
        case .upgrade:
            guard let master = pidFile.liveMaster() else { return notRunning(log) }
            return upgrade(master: master)
        case .status(let live):
            return status(live: live, log: log)
        case .connections:
            return connections(log: log)
        }
    }

    private func notRunning(_ log: ProcessLog) -> CInt {
        say("Workerman[\(paths.startFile)] not run", to: 2)
        return 1
    }

    // MARK: - start

    private func start(daemon: Bool, log: ProcessLog) -> CInt {
        if pidFile.liveMaster() != nil {
            say("Workerman[\(paths.startFile)] already running", to: 2)
            return 1
        }
        do {
            // Unwritable files and unknown users fail here, before anything starts.
            try UserSwitch.check(plan)
            try pidFile.checkWritable()
            try checkFileWritable(paths.logFile, what: "log file")
            if daemon { try checkFileWritable(paths.stdoutFile, what: "stdout file") }
        } catch {
            say("\(error)", to: 2)
            return 1
        }
        log.write("Workerman[\(paths.startFile)] start in \(daemon ? "DAEMON" : "DEBUG") mode")
        if UserSwitch.anySwitch(in: plan) { shareLogFile() }
        guard daemon else { return runMaster(daemon: false) }
        return startDaemon(log: log)
    }

    /// Children that run as another user append to the log too (a reload or stop that closes connections,
    /// a callback that throws): as Workerman does, the log file is made writable for them (mode 0622).
    /// Only a regular file: a log sent to `/dev/null` or a terminal keeps its mode.
    private func shareLogFile() {
        guard let info = try? Syscalls.status(paths.logFile), info.st_mode & S_IFMT == S_IFREG else { return }
        // Best effort: a log the master may not chmod stays as it is, and children log to it if they can.
        try? Syscalls.changeMode(paths.logFile, 0o622)
    }

    /// Daemon mode without `fork()`: the master is our own executable started again in a new session, its
    /// output on `stdoutFile` (forking a process that may have threads is unsafe). This
    /// process waits until the master is up, prints the table, and leaves.
    private func startDaemon(log: ProcessLog) -> CInt {
        let pid: pid_t
        do {
            pid = try ChildSpawner.spawn(
                executable: paths.startFile,
                arguments: ["\(settings.processTitle): master process  start_file=\(paths.startFile)"] + CommandLine.arguments.dropFirst(),
                environment: [ChildEnvironment.role: "master"],
                listenFD: nil,
                newSession: true,
                standardOutput: paths.stdoutFile
            )
        } catch {
            say("\(error)", to: 2)
            return 1
        }
        let deadline = MonotonicClock.now() + 10_000_000_000
        while MonotonicClock.now() < deadline {
            if let status = (try? Syscalls.reapChild(pid))??.status {
                // The daemon logs why (a port in use, …) but does not echo: repeat its lines here.
                let reasons = ((try? readText(paths.logFile)) ?? "").split(separator: "\n").filter { $0.contains(" pid:\(pid) ") }
                for line in reasons { say(String(line), to: 2) }
                say("Workerman[\(paths.startFile)] start failed (exit status \(status)); see \(paths.logFile)", to: 2)
                return 1
            }
            if pidFile.liveMaster() == pid, Syscalls.isAccessible(paths.statusFile, .readable) {
                say(StartTable.render(plan: plan, daemon: true, program: program))
                return 0
            }
            Syscalls.pause(milliseconds: 10)  // polling the daemon's start-up, bounded by the deadline above
        }
        say("Workerman[\(paths.startFile)] start timed out; see \(paths.logFile)", to: 2)
        return 1
    }

    /// Runs the supervisor in this process until it stops. A master started by `upgrade` (`handover`)
    /// writes the pid file only once its children serve: until then the pid file names the old master,
    /// which keeps serving if this one fails.
    func runMaster(daemon: Bool, handover: MasterHandover? = nil) -> CInt {
        let log = ProcessLog(path: paths.logFile, echo: !daemon)
        ProcessTitle.set("\(settings.processTitle): master process  start_file=\(paths.startFile)")
        var retired = false
        do {
            if handover == nil { try pidFile.write(getpid()) }
            let supervisor = try Supervisor(plan: plan, settings: settings, paths: paths, log: log, daemon: daemon, handover: handover)
            if handover != nil {
                // Nothing to report a failure to but the log: the old master reads why from there.
                supervisor.onServing = { [pidFile] in try? pidFile.write(getpid()) }
            }
            if !daemon && handover == nil { say(StartTable.render(plan: plan, daemon: false, program: program)) }
            try supervisor.run()
            retired = supervisor.retired
        } catch {
            log.write("Workerman[\(paths.startFile)] start failed: \(error)")
            if handover == nil { pidFile.remove() }
            return 1
        }
        // A retired master's pid file names its successor.
        if !retired { pidFile.remove() }
        return 0
    }

    // MARK: - upgrade

    /// Asks the master to upgrade and waits for its answer: the new master's pid, or why it failed (the
    /// old master then keeps serving).
    private func upgrade(master: pid_t) -> CInt {
        let replyPath = UpgradeReply.path(paths)
        try? Syscalls.unlink(replyPath)
        do {
            try Syscalls.signal(master, Supervisor.upgradeSignal)
        } catch {
            say("Workerman[\(paths.startFile)] upgrade: cannot signal the master \(master): \(error)", to: 2)
            return 1
        }
        let deadline = MonotonicClock.now() + UInt64((settings.upgradeTimeout + 5) * 1e9)
        while MonotonicClock.now() < deadline {
            if let text = try? readText(replyPath), let reply = UpgradeReply.parse(text) {
                try? Syscalls.unlink(replyPath)
                switch reply {
                case .upgraded(let pid):
                    say("Workerman[\(paths.startFile)] upgraded: new master \(pid) serves; the old master \(master) retires gracefully")
                    return 0
                case .failed(let why):
                    say("Workerman[\(paths.startFile)] upgrade failed, the old master \(master) keeps serving: \(why)", to: 2)
                case .refused(let why):
                    say("Workerman[\(paths.startFile)] upgrade refused: \(why)", to: 2)
                }
                return 1
            }
            if processHasExited(master) { break }
            Syscalls.pause(milliseconds: 10)  // waiting for the master's answer, bounded by the deadline above
        }
        say("Workerman[\(paths.startFile)] upgrade: no answer from the master \(master); see \(paths.logFile)", to: 2)
        return 1
    }

    // MARK: - stop

    private func stop(graceful: Bool, log: ProcessLog) -> CInt {
        guard let master = pidFile.liveMaster() else { return notRunning(log) }
        // A master gone meanwhile is what stop waits for below.
        try? Syscalls.signal(master, graceful ? SIGQUIT : SIGINT)
        log.write("Workerman[\(paths.startFile)] is \(graceful ? "gracefully " : "")stopping ...")
        let limit = (graceful ? settings.gracefulStopTimeout : 0) + settings.stopTimeout + 3
        let deadline = MonotonicClock.now() + UInt64(limit * 1e9)
        while MonotonicClock.now() < deadline {
            if processHasExited(master) {
                log.write("Workerman[\(paths.startFile)] stop success")
                return 0
            }
            Syscalls.pause(milliseconds: 10)  // Workerman polls every 10 ms; bounded by the deadline above
        }
        log.write("Workerman[\(paths.startFile)] stop fail")
        return 1
    }

    // MARK: - status, connections

    private func status(live: Bool, log: ProcessLog) -> CInt {
        guard pidFile.liveMaster() != nil else { return notRunning(log) }
        let board: StatusBoard
        do {
            board = try StatusBoard.open(path: paths.statusFile, writable: false)
        } catch {
            say("\(error)", to: 2)
            return 1
        }
        var report = StatusReport(plan: plan, board: board, startFile: paths.startFile)
        if !live {
            say(report.render())
            return 0
        }
        _ = report.render()  // the first sample, so qps has a baseline
        while pidFile.liveMaster() != nil {
            Syscalls.pause(milliseconds: 1000)  // status -d refreshes once a second until Ctrl-C
            say("\u{1b}[H\u{1b}[2J" + report.render() + "Press Ctrl+C to quit.")
        }
        return 0
    }

    private func connections(log: ProcessLog) -> CInt {
        guard let master = pidFile.liveMaster(),
            let board = try? StatusBoard.open(path: paths.statusFile, writable: false)
        else { return notRunning(log) }
        let pids = (0..<board.slotCount).map { board.slot($0).pointee.pid }.filter { $0 > 0 && processExists($0) }
        for pid in pids { prepareConnectionsFile(pid: pid) }
        // A master that died meanwhile answers nobody: every child then shows as busy.
        try? Syscalls.signal(master, SIGIO)
        // Each child writes its rows when its loop sees the signal; a busy child cannot, so wait at most
        // half a second (Workerman waits 0.5 s too) and mark the missing ones. A file counts once it ends
        // with the end line: before that it may be empty or half written.
        let deadline = MonotonicClock.now() + 500_000_000
        var found: [pid_t: String] = [:]
        while MonotonicClock.now() < deadline && found.count < pids.count {
            for pid in pids where found[pid] == nil {
                if let text = try? readText("\(paths.statusFile).connections.\(pid)"), let rows = ConnectionsReport.complete(text) {
                    found[pid] = rows
                }
            }
            Syscalls.pause(milliseconds: 5)
        }
        var rows = [ConnectionsReport.header]
        for pid in pids {
            try? Syscalls.unlink("\(paths.statusFile).connections.\(pid)")
            guard let text = found[pid] else {
                rows.append([String(pid), "[busy]"] + Array(repeating: "", count: ConnectionsReport.header.count - 2))
                continue
            }
            for line in text.split(separator: "\n") { rows.append(line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)) }
        }
        say("--------------------------------------------------WORKERMAN CONNECTION STATUS--------------------------------------------------")
        say(StatusReport.table(rows), to: 1)
        return 0
    }

    /// Creates the empty file child `pid` answers `connections` in, owned by the child's user: a child that
    /// switched to another user (`worker.user`) may not create files next to the pid file, but can write
    /// one it owns.
    private func prepareConnectionsFile(pid: pid_t) {
        let path = "\(paths.statusFile).connections.\(pid)"
        // Best effort throughout: a child that cannot write its file shows as busy in the table.
        try? Syscalls.unlink(path)
        guard let fd = try? Syscalls.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) else { return }
        defer { try? Syscalls.close(fd) }
        if let owner = try? Syscalls.status("/proc/\(pid)") {
            try? Syscalls.changeOwner(fd, user: owner.st_uid, group: owner.st_gid)
        }
    }
}
