import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// `upgrade`: the running master starts the binary on disk as a new master, hands it every listening
// socket (so nothing is ever closed: the kernel keeps queueing connections on the same sockets), waits
// until the new master's children serve, then retires gracefully, as `stop -g` does. A new master that
// exits, or is not ready within `upgradeTimeout`, is killed and the old one keeps serving.

extension Supervisor {
    /// The new master while an upgrade waits for it.
    struct Successor {
        let pid: pid_t
        let readFD: CInt
        var timer: TimerID?
    }

    /// The signal `upgrade` sends the master. SIGURG because its default action is to ignore it: a
    /// master built before `upgrade` existed is not killed by it (the command then times out), and the
    /// master never asks for it as out-of-band data (it sets no socket owner).
    static let upgradeSignal = SIGURG

    func upgrade() {
        guard state == .running else {
            let why = state == .reloading ? "a reload is in progress" : state == .upgrading ? "an upgrade is in progress" : "the master is stopping"
            UpgradeReply.write(.refused(why), paths: paths)
            log.write("Workerman[\(paths.startFile)] upgrade refused: \(why)")
            return
        }
        log.write("Workerman[\(paths.startFile)] upgrading: starting \(executable) as the new master")
        let pipe: (read: CInt, write: CInt)
        do {
            pipe = try Syscalls.pipe()
        } catch {
            UpgradeReply.write(.failed("cannot make a pipe: \(error)"), paths: paths)
            return
        }
        // Our status board steps aside: the new master creates its own at the same path, and must not
        // truncate the file our children are writing to. It comes back if the upgrade fails.
        let asidePath = "\(paths.statusFile).retiring.\(getpid())"
        try? Syscalls.rename(boardPath, to: asidePath)
        boardPath = asidePath
        // The descriptors are placed above every one they are copied from, so no copy overwrites a source.
        var sources: [(fd: CInt, role: String, address: String)] = []
        for (index, listener) in listeners.sorted(by: { $0.key < $1.key }) {
            sources.append((listener.fd, "worker \(index)", plan[index].address ?? ""))
        }
        if let metrics { sources.append((metrics.fd, "metrics", metrics.address)) }
        let base = max(3, (sources.map(\.fd) + [pipe.read, pipe.write]).max()! + 1)
        var handover = MasterHandover(sockets: [], readyFD: base + CInt(sources.count))
        for (offset, source) in sources.enumerated() {
            handover.sockets.append(.init(fd: base + CInt(offset), role: source.role, address: source.address))
        }
        var environment = handover.environment
        environment[ChildEnvironment.role] = "master"
        if daemon { environment[ChildEnvironment.daemon] = "1" }
        let pid: pid_t
        do {
            pid = try launcher.spawn(
                ChildLaunch(
                    executable: executable,
                    arguments: ["\(settings.processTitle): master process  start_file=\(paths.startFile)"] + CommandLine.arguments.dropFirst(),
                    environment: environment,
                    listenFD: nil,
                    inherited: zip(sources.map(\.fd), handover.sockets.map(\.fd)).map { $0 } + [(pipe.write, handover.readyFD)],
                    newSession: daemon,
                    standardOutput: daemon ? paths.stdoutFile : nil
                )
            )
        } catch {
            try? Syscalls.close(pipe.read)
            try? Syscalls.close(pipe.write)
            restoreBoard()
            UpgradeReply.write(.failed("\(error)"), paths: paths)
            log.write("Workerman[\(paths.startFile)] upgrade failed: \(error)")
            return
        }
        try? Syscalls.close(pipe.write)
        state = .upgrading
        successor = Successor(pid: pid, readFD: pipe.read)
        do {
            try loop.watch(pipe.read, for: .readable) { [unowned self] _ in self.successorSpoke(pid: pid) }
        } catch {
            successorFailed("cannot watch the new master: \(error)")
            return
        }
        let timeout = settings.upgradeTimeout
        successor?.timer = try? loop.addTimer(after: timeout) { [unowned self] in
            self.successor?.timer = nil
            self.successorFailed("the new master (pid \(pid)) did not serve within \(timeout) s (upgradeTimeout)")
        }
    }

    /// The pipe is readable: "R" (ready), or end of file (the new master is gone; its exit says why).
    private func successorSpoke(pid: pid_t) {
        guard let successor, successor.pid == pid else { return }
        var byte: UInt8 = 0
        let result = try? Syscalls.read(successor.readFD, &byte, 1)
        if case .processed(1)? = result, byte == UInt8(ascii: "R") {
            successorReady()
        } else if case .wouldBlock? = result {
            return
        } else {
            // Closed without a word: stop watching; SIGCHLD brings the exit status (or the timer fires).
            loop.unwatch(successor.readFD)
        }
    }

    /// Called for every reaped child before the slots are searched; true when it was the new master.
    func successorExited(pid: pid_t, status: CInt) -> Bool {
        guard let successor, successor.pid == pid else { return false }
        let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
        successorFailed("the new master (pid \(pid)) \(how) before it served\(Self.logLines(of: pid, in: paths.logFile))")
        return true
    }

    private func endWatchingSuccessor() -> Successor? {
        guard let successor else { return nil }
        self.successor = nil
        if let timer = successor.timer { loop.cancelTimer(timer) }
        loop.unwatch(successor.readFD)
        try? Syscalls.close(successor.readFD)
        return successor
    }

    func successorFailed(_ why: String) {
        guard let successor = endWatchingSuccessor() else { return }
        // Killed outright, so it runs none of its stop (which would remove the status file that is ours
        // again); its children follow through their parent-death signal. Gone already: nothing to kill.
        launcher.signal(successor.pid, SIGKILL)
        restoreBoard()
        state = .running
        log.write("Workerman[\(paths.startFile)] upgrade failed, still serving: \(why)")
        UpgradeReply.write(.failed(why), paths: paths)
    }

    private func successorReady() {
        guard let successor = endWatchingSuccessor() else { return }
        log.write("Workerman[\(paths.startFile)] upgraded: the new master is pid \(successor.pid); retiring")
        UpgradeReply.write(.upgraded(successor.pid), paths: paths)
        // The new master wrote the pid file, serves on the same sockets and announced itself to systemd.
        retired = true
        state = .running
        stop(graceful: true)
    }

    private func restoreBoard() {
        let asidePath = boardPath
        boardPath = paths.statusFile
        try? Syscalls.rename(asidePath, to: boardPath)
    }

    /// The new master's last log lines (why it failed), indented on lines of their own.
    static func logLines(of pid: pid_t, in path: String) -> String {
        let lines = ((try? readText(path)) ?? "").split(separator: "\n").filter { $0.contains(" pid:\(pid) ") }.suffix(3)
        return lines.isEmpty ? "" : ":\n" + lines.map { "  " + $0 }.joined(separator: "\n")
    }
}

/// The old master's answer to `upgrade`, in a file next to the pid file (written whole, then renamed):
/// the command waits for it and prints it.
enum UpgradeReply: Equatable {
    case upgraded(pid_t)
    case failed(String)
    case refused(String)

    static func path(_ paths: RuntimePaths) -> String { "\(paths.pidFile).upgrade" }

    static func write(_ reply: UpgradeReply, paths: RuntimePaths) {
        let text: String
        switch reply {
        case .upgraded(let pid): text = "upgraded \(pid)\n"
        case .failed(let why): text = "failed \(why)\n"
        case .refused(let why): text = "refused \(why)\n"
        }
        // Best effort: a reply that cannot be written makes the command time out, and the log says why.
        let temporary = "\(path(paths)).\(getpid())"
        guard (try? writeText(text, to: temporary)) != nil else { return }
        try? Syscalls.rename(temporary, to: path(paths))
    }

    static func parse(_ text: String) -> UpgradeReply? {
        guard text.hasSuffix("\n") else { return nil }
        let body = String(text.dropLast())
        if body.hasPrefix("upgraded "), let pid = pid_t(body.dropFirst(9)) { return .upgraded(pid) }
        if body.hasPrefix("failed ") { return .failed(String(body.dropFirst(7))) }
        if body.hasPrefix("refused ") { return .refused(String(body.dropFirst(8))) }
        return nil
    }
}

extension Supervisor {
    /// A new master started by `upgrade`: once every child serves, writes the pid file, tells systemd it
    /// is the main process now, and tells the old master, which then retires. Polled on the board (each
    /// child marks its slot running after `onWorkerStart`), every 10 ms until then.
    func announceWhenServing() throws {
        var check: TimerID?
        check = try loop.addTimer(every: 0.01) { [unowned self] in
            let serving = slots.indices.allSatisfy { index in
                let record = board.slot(slots[index].boardSlot).pointee
                return slots[index].pid > 0 && record.pid == slots[index].pid && record.state == SlotRecord.running
            }
            guard serving, let check else { return }
            loop.cancelTimer(check)
            onServing?()
            SystemdNotify.send("READY=1\nMAINPID=\(getpid())")
            handover?.announceReady()
        }
    }
}
