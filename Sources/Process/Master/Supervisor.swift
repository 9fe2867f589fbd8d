import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// The master process: opens the shared listeners, starts a child per worker
/// slot, restarts children that die (with back-off when they keep dying at start), and carries out stop
/// and rolling reload. Runs on its own event loop: signals and child exits are loop callbacks.
final class Supervisor {
    struct Slot {
        let workerIndex: Int
        let workerID: Int
        var pid: pid_t = 0
        /// The board slot its child writes to. A recycled child keeps its slot while it drains, and its
        /// replacement takes a spare one (see Supervisor+Recycling.swift).
        var boardSlot: Int
        /// The board slot of this slot's child that is leaving to be replaced, or -1.
        var retiringBoardSlot = -1
        /// When its child started and how often in a row one died soon after: when to restart it.
        var backoff = RestartBackoff()
        var restartTimer: TimerID?
        var killTimer: TimerID?
    }

    enum State {
        case running
        case reloading
        /// A new master started by `upgrade` is not serving yet.
        case upgrading
        case stopping
    }

    let plan: [WorkerBase]
    let settings: ProcessSettings
    let paths: RuntimePaths
    let log: ProcessLog
    let daemon: Bool
    let executable: String
    let loop: EventLoop
    let launcher: any ChildLauncher
    private(set) var board: StatusBoard!
    /// Where our board is: the status path, or a name beside it while an upgrade's new master takes that.
    var boardPath = ""
    var listeners: [Int: Listener] = [:]
    var metrics: MetricsServer?
    var slots: [Slot] = []
    var state = State.running
    /// What the master that upgraded to this one handed over; nil for a master started by `start`.
    let handover: MasterHandover?
    /// The new master while an upgrade waits for it to serve.
    var successor: Successor?
    /// Set once a new master serves in our place: our stop then leaves the shared files alone.
    var retired = false
    /// Called once every child serves (a new master's readiness: it writes the pid file).
    var onServing: (() -> Void)?
    var reloadQueue: [Int] = []
    private var reloadGraceful = false
    var reloadingSlot: Int?
    /// Children leaving after a recycle (their replacement serves or is starting): pid → slot index.
    var recycledChildren: [pid_t: Int] = [:]
    /// Recycled children already told to drain (their replacement serves).
    var drainingRecycled: Set<pid_t> = []
    /// Board slots no child uses, for recycled children's replacements.
    var spareBoardSlots: [Int] = []
    /// Called when the last child is gone after a stop.
    var onStopped: (() -> Void)?

    /// - Parameters:
    ///   - loop, launcher: tests pass a loop on a manual clock and a scripted launcher.
    init(
        plan: [WorkerBase], settings: ProcessSettings, paths: RuntimePaths, log: ProcessLog, daemon: Bool,
        handover: MasterHandover? = nil, loop: EventLoop? = nil, launcher: any ChildLauncher = SystemChildLauncher()
    ) throws {
        self.plan = plan
        self.handover = handover
        self.launcher = launcher
        self.settings = settings
        self.paths = paths
        self.log = log
        self.daemon = daemon
        self.executable = ChildSpawner.executablePath()
        self.loop = try loop ?? EventLoop()
        MasterSecret.makeForMaster()
        for worker in plan {
            if let problem = worker.settingProblem {
                throw ProcessError(.invalidSetting, "worker \(worker.name) (\(worker.address ?? "no listener"))", detail: problem)
            }
        }
        // Bound here, before the caller prints the start table: a port in use fails the start first.
        try openListeners()
        metrics = try settings.metricsAddress.map { (address) throws(ProcessError) in
            try MetricsServer(address: address, inherited: handover?.metrics(address: address))
        }
    }

    /// Opens the status board, starts every child, and runs until stopped.
    func run() throws {
        try start()
        try loop.run(.untilStopped)
    }

    /// Everything `run` does before it runs the loop. Tests call it with `watchingSignals` false and
    /// step the loop themselves, calling `reapChildren()` where SIGCHLD would.
    func start(watchingSignals: Bool = true) throws {
        for (index, worker) in plan.enumerated() {
            for id in 0..<worker.count { slots.append(Slot(workerIndex: index, workerID: id, boardSlot: slots.count)) }
        }
        boardPath = paths.statusFile
        // One spare board slot per process that may be recycled: its replacement runs beside it for a while.
        let recycling = slots.filter { plan[$0.workerIndex].recycles }.count
        board = try StatusBoard.create(path: boardPath, slots: slots.count + recycling, workers: plan.count, masterPID: getpid())
        spareBoardSlots = Array(slots.count..<slots.count + recycling)
        for spare in spareBoardSlots { board.slot(spare).pointee.workerIndex = -1 }
        if watchingSignals { try installSignals() }
        if recycling > 0 { try watchRecycling() }
        if let metrics {
            try metrics.start(on: loop, board: board, workerNames: plan.map(\.name))
            log.write("Workerman[\(paths.startFile)] metrics at http://\(metrics.host):\(metrics.port)/metrics")
        }
        for index in slots.indices { spawn(slot: index) }
        if handover != nil {
            try announceWhenServing()
        } else {
            // The listeners are bound and the children started: connections are taken from here on.
            SystemdNotify.send("READY=1\nMAINPID=\(getpid())")
            onServing?()
        }
    }

    /// Non-reusePort listeners are bound here, before any child starts, so every child of a worker shares
    /// one socket and a port in use fails the start with a clear error.
    private func openListeners() throws {
        for worker in plan {
            do {
                try worker.checkBeforeListening()
            } catch {
                throw ProcessError(.listenFailed, "start \(worker.name) on \(worker.address ?? "")", detail: "\(error)")
            }
        }
        for (index, worker) in plan.enumerated() {
            guard let endpoint = worker.endpoint, !worker.reusePort else { continue }
            do {
                // A socket handed over by the master we upgrade from is adopted: it never closed.
                if let fd = handover?.listener(worker: index, address: worker.address) {
                    listeners[index] = try Listener(adopting: fd, endpoint: endpoint)
                } else {
                    listeners[index] = try Listener(endpoint: endpoint, options: worker.listenOptions)
                }
            } catch {
                throw ProcessError(.listenFailed, "listen on \(worker.address ?? "")", detail: error.description)
            }
        }
    }

    // MARK: - Children

    func spawn(slot index: Int) {
        let slot = slots[index]
        let worker = plan[slot.workerIndex]
        let title = "\(settings.processTitle): worker process  \(worker.name) \(worker.address ?? "none")"
        var environment = [
            ChildEnvironment.role: "worker",
            ChildEnvironment.plan: String(slot.workerIndex),
            ChildEnvironment.identity: worker.identity,
            ChildEnvironment.workerID: String(slot.workerID),
            ChildEnvironment.slot: String(slot.boardSlot),
            ChildEnvironment.board: paths.statusFile,
            ChildEnvironment.masterPID: String(getpid()),
            ChildEnvironment.logFile: paths.logFile,
        ]
        if daemon { environment[ChildEnvironment.daemon] = "1" }
        environment[MasterSecret.variable] = MasterSecret.environmentValue
        let listener = listeners[slot.workerIndex]
        if listener != nil { environment[ChildEnvironment.listenFD] = String(ChildEnvironment.inheritedListenFD) }
        do {
            let pid = try launcher.spawn(
                ChildLaunch(
                    executable: executable,
                    arguments: [title] + CommandLine.arguments.dropFirst(),
                    environment: environment,
                    listenFD: listener?.fd,
                    blockedSignals: ChildRuntime.controlSignals
                )
            )
            slots[index].pid = pid
            // The loop's clock, not the system's: tests of the back-off move time by hand.
            slots[index].backoff.started(at: loop.clock.nanoseconds())
        } catch {
            log.write("worker[\(worker.name)] could not start: \(error)")
            restart(slot: index, slots[index].backoff.spawnFailed())
        }
    }

    private func childExited(pid: pid_t, status: CInt) {
        if successorExited(pid: pid, status: status) || recycledChildExited(pid: pid, status: status) { return }
        guard let index = slots.firstIndex(where: { $0.pid == pid }) else { return }
        let worker = plan[slots[index].workerIndex]
        if let killTimer = slots[index].killTimer { loop.cancelTimer(killTimer) }
        slots[index].killTimer = nil
        slots[index].pid = 0
        let record = board.slot(slots[index].boardSlot)
        record.pointee.recycled = 0
        record.pointee.state = SlotRecord.free
        // During a stop, an interrupt is the expected way out: count it as a clean exit (Workerman 4.2).
        let counted = state == .stopping && (status == SIGINT || status == SIGTERM) ? 0 : status
        board.recordExit(worker: slots[index].workerIndex, status: counted)
        if counted != 0 { log.write("worker[\(worker.name):\(pid)] exit with status \(status)") }

        if state == .stopping {
            if noChildrenLeft { finishStop() }
            return
        }
        if reloadingSlot == index {
            reloadingSlot = nil
            spawn(slot: index)
            reloadNext()
        } else {
            restart(slot: index, slots[index].backoff.exited(at: loop.clock.nanoseconds()))
        }
    }

    /// Carries out `RestartBackoff`'s decision for a slot whose child is gone.
    private func restart(slot index: Int, _ decision: RestartBackoff.Decision) {
        board.exits(slots[index].workerIndex).pointee.restarts += 1
        switch decision {
        case .restartNow:
            spawn(slot: index)
        case .restart(let delay):
            log.write("worker[\(plan[slots[index].workerIndex].name)] keeps exiting at start; restarting in \(delay) s")
            slots[index].restartTimer = try? loop.addTimer(after: delay) { [unowned self] in
                self.slots[index].restartTimer = nil
                if self.state != .stopping { self.spawn(slot: index) }
            }
        }
    }

    /// Takes every child that exited (on SIGCHLD).
    func reapChildren() {
        while let reaped = launcher.reap() {
            childExited(pid: reaped.pid, status: reaped.status)
        }
    }

    // MARK: - Signals

    private func installSignals() throws {
        try loop.watchSignal(SIGCHLD) { [unowned self] _ in self.reapChildren() }
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGTSTP] {
            try loop.watchSignal(signal) { [unowned self] _ in self.stop(graceful: false) }
        }
        try loop.watchSignal(SIGQUIT) { [unowned self] _ in self.stop(graceful: true) }
        try loop.watchSignal(SIGUSR1) { [unowned self] _ in self.reload(graceful: false) }
        try loop.watchSignal(SIGUSR2) { [unowned self] _ in self.reload(graceful: true) }
        try loop.watchSignal(SIGIO) { [unowned self] _ in self.signalChildren(SIGIO) }
        try loop.watchSignal(Self.upgradeSignal) { [unowned self] _ in self.upgrade() }
        // Workerman's status signal (SIGIOT = SIGABRT). Our status is live on the board, so there is
        // nothing to collect, but the signal must not kill the master as its default action would. A
        // real abort() still ends the process: glibc raises again with the default action.
        try loop.watchSignal(SIGABRT) { _ in }
        try loop.watchSignal(SIGPIPE) { _ in }
    }

    private func signalChildren(_ signal: CInt) {
        // A child that exited meanwhile has nothing to stop; its SIGCHLD is on the way.
        for slot in slots where slot.pid > 0 { launcher.signal(slot.pid, signal) }
        for pid in recycledChildren.keys { launcher.signal(pid, signal) }
    }

    /// Whether every child, including those leaving after a recycle, is gone.
    var noChildrenLeft: Bool { slots.allSatisfy { $0.pid == 0 } && recycledChildren.isEmpty }

    // MARK: - Stop

    func stop(graceful: Bool) {
        guard state != .stopping else { return }
        if state == .upgrading { successorFailed("the master was told to stop") }
        state = .stopping
        // A retiring master's successor already told systemd it is the main process now.
        if !retired { SystemdNotify.send("STOPPING=1") }
        log.write("Workerman[\(paths.startFile)] \(graceful ? "gracefully " : "")stopping ...")
        for index in slots.indices {
            if let timer = slots[index].restartTimer { loop.cancelTimer(timer) }
            slots[index].restartTimer = nil
        }
        // The listeners close first: a client reconnecting while children drain (an HTTP connection told
        // `Connection: close`) is refused, rather than queued on a socket nobody accepts from any more
        // and reset when the last child leaves.
        closeListeners()
        signalChildren(graceful ? SIGQUIT : SIGINT)
        // The child closes what remains at its own timeout; this is the backstop for a child stuck in a
        // callback, which cannot run its loop to see the signal.
        let grace = graceful ? settings.gracefulStopTimeout + settings.stopTimeout : settings.stopTimeout
        for index in slots.indices where slots[index].pid > 0 {
            let pid = slots[index].pid
            slots[index].killTimer = try? loop.addTimer(after: grace) { [unowned self] in
                if self.slots[index].pid == pid {
                    self.log.write("worker[\(self.plan[self.slots[index].workerIndex].name):\(pid)] did not stop in \(grace) s: killed")
                    launcher.signal(pid, SIGKILL)
                }
            }
        }
        for pid in recycledChildren.keys {
            _ = try? loop.addTimer(after: grace) { [unowned self] in
                if self.recycledChildren[pid] != nil { launcher.signal(pid, SIGKILL) }
            }
        }
        if noChildrenLeft { finishStop() }
    }

    private func closeListeners() {
        for listener in listeners.values {
            // The successor serves on the same unix socket file: closing our descriptor must not remove it.
            if retired { listener.keepUnixPathOnClose() }
            listener.close()
        }
        listeners.removeAll()
    }

    func finishStop() {
        closeListeners()
        for worker in plan where !retired {
            if case .unix(let path)? = try? worker.endpoint?.numericAddress() { try? Syscalls.unlink(path) }
        }
        metrics?.stop()
        try? Syscalls.unlink(boardPath)
        log.write("Workerman[\(paths.startFile)] has been stopped")
        onStopped?()
        loop.stop()
    }

    // MARK: - Reload

    /// Rolling reload: one child at a time is replaced; children of non-reloadable workers only run
    /// `onWorkerReload`.
    func reload(graceful: Bool) {
        guard state == .running else { return }
        log.write("Workerman[\(paths.startFile)] \(graceful ? "gracefully " : "")reloading")
        SystemdNotify.reloading()
        let signal = graceful ? SIGUSR2 : SIGUSR1
        reloadGraceful = graceful
        reloadQueue = []
        for (index, slot) in slots.enumerated() where slot.pid > 0 {
            if plan[slot.workerIndex].reloadable {
                reloadQueue.append(index)
            } else {
                launcher.signal(slot.pid, signal)
            }
        }
        state = .reloading
        reloadNext()
    }

    private func reloadNext() {
        guard state == .reloading else { return }
        guard let index = reloadQueue.first else {
            state = .running
            log.write("Workerman[\(paths.startFile)] reload done")
            SystemdNotify.send("READY=1")
            return
        }
        reloadQueue.removeFirst()
        let pid = slots[index].pid
        guard pid > 0 else {
            reloadNext()
            return
        }
        reloadingSlot = index
        launcher.signal(pid, reloadGraceful ? SIGUSR2 : SIGUSR1)
        let grace = (reloadGraceful ? settings.gracefulStopTimeout : 0) + settings.stopTimeout
        slots[index].killTimer = try? loop.addTimer(after: grace) { [unowned self] in
            if self.slots[index].pid == pid { launcher.signal(pid, SIGKILL) }
        }
    }
}
