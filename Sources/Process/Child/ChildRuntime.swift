import CWorkermanShims
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A worker process: finds its worker in the plan, takes its listener, binds its status slot, runs
/// `onWorkerStart` and its loop until told to stop or reload.
final class ChildRuntime {
    let plan: [WorkerBase]
    let settings: ProcessSettings
    let role: [String: String]
    let log: ProcessLog
    var loop: EventLoop!
    var worker: WorkerBase!
    var board: StatusBoard?
    var slot: UnsafeMutablePointer<SlotRecord>?
    private var exitCode: CInt = 0
    var stopping = false

    init(plan: [WorkerBase], settings: ProcessSettings, role: [String: String]) {
        self.plan = plan
        self.settings = settings
        self.role = role
        self.log = ProcessLog(path: role[ChildEnvironment.logFile] ?? "/dev/null", echo: role[ChildEnvironment.daemon] == nil)
    }

    /// Runs the child; never returns.
    func run() -> Never {
        do {
            try start()
            try loop.run(.untilStopped)
        } catch {
            log.write("worker process \(getpid()) failed: \(error)")
            exit(250)
        }
        slot?.pointee.state = SlotRecord.free
        exit(exitCode)
    }

    private func start() throws {
        guard let index = role[ChildEnvironment.plan].flatMap(Int.init), index >= 0, index < plan.count,
            plan[index].identity == role[ChildEnvironment.identity]
        else {
            throw ProcessError(
                .noSuchWorker,
                "start worker \(role[ChildEnvironment.identity] ?? "?")",
                detail: "this program builds no such worker at position \(role[ChildEnvironment.plan] ?? "?"); workers must be made in the same order in every run"
            )
        }
        worker = plan[index]
        worker.id = role[ChildEnvironment.workerID].flatMap(Int.init) ?? 0
        // `start -d` reaches children through the environment: make `Worker.settings.daemonize` say so
        // here too, as Workerman's `Worker::$daemonize` does (FileMonitor checks it).
        if role[ChildEnvironment.daemon] != nil { WorkerRegistry.settingsLock.value.daemonize = true }
        loop = try EventLoop(backend: worker.backend)
        worker.loop = loop
        WorkerRegistry.shared.loop = loop
        ProcessTitle.set("\(settings.processTitle): worker process  \(worker.name) \(worker.address ?? "none")")
        bindStatusSlot()
        // Every other worker's listener stays in the master: this process serves only its own worker.
        var inherited: Listener?
        if let endpoint = worker.endpoint, role[ChildEnvironment.listenFD] != nil {
            inherited = try Listener(adopting: ChildEnvironment.inheritedListenFD, endpoint: endpoint)
        }
        try worker.startServing(on: loop, inherited: inherited)
        try UserSwitch.apply(user: worker.user, group: worker.group)
        try installSignals()
        try watchMaster()
        do {
            try worker.runWorkerStart()
        } catch {
            throw ProcessError(.spawnFailed, "onWorkerStart of \(worker.name)", detail: "\(error)")
        }
        slot?.pointee.state = SlotRecord.running
        try watchRecyclingLimits()
    }

    private func bindStatusSlot() {
        guard let path = role[ChildEnvironment.board], let slotIndex = role[ChildEnvironment.slot].flatMap(Int.init),
            let board = try? StatusBoard.open(path: path, writable: true), slotIndex < board.slotCount
        else { return }
        self.board = board
        let record = board.slot(slotIndex)
        record.pointee.pid = getpid()
        record.pointee.workerIndex = Int32(worker.planIndex ?? -1)
        record.pointee.workerID = Int32(worker.id)
        record.pointee.startedAt = Int64(time(nil))
        record.pointee.state = SlotRecord.starting
        withUnsafeMutablePointer(to: &record.pointee.activity) { loop.bindActivityRecord(to: $0) }
        withUnsafeMutablePointer(to: &record.pointee.statistics) { TransportContext.of(loop).bindStatistics(to: $0) }
        slot = record
    }

    // MARK: - Signals

    /// The signals a child's loop watches. The master starts children with these blocked, so one sent
    /// before the loop watches it waits instead of killing the child (see `ChildSpawner.spawn`).
    static let controlSignals = [SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGQUIT, SIGUSR1, SIGUSR2, SIGIO, SIGABRT]

    private func installSignals() throws {
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGTSTP] {
            try loop.watchSignal(signal) { [unowned self] _ in self.stop(graceful: false) }
        }
        try loop.watchSignal(SIGQUIT) { [unowned self] _ in self.stop(graceful: true) }
        try loop.watchSignal(SIGUSR1) { [unowned self] _ in self.reload(graceful: false) }
        try loop.watchSignal(SIGUSR2) { [unowned self] _ in self.reload(graceful: true) }
        try loop.watchSignal(SIGIO) { [unowned self] _ in self.writeConnections() }
        // Workerman's status signal: our counters are live on the board already (see Supervisor).
        try loop.watchSignal(SIGABRT) { _ in }
    }

    /// A child whose master died (SIGKILL, a crash) stops instead of serving on unsupervised: Linux sends
    /// it SIGTERM when its parent dies. A master already gone before this line is caught by the check.
    private func watchMaster() throws {
        _ = wm_set_parent_death_signal(SIGTERM)
        if let master = role[ChildEnvironment.masterPID].flatMap(pid_t.init), getppid() != master {
            stop(graceful: false)
        }
    }

    func stop(graceful: Bool) {
        guard !stopping else { return }
        stopping = true
        slot?.pointee.state = SlotRecord.stopping
        do {
            try worker.runWorkerStop()
        } catch {
            log.write("onWorkerStop of \(worker.name) threw: \(error)")
        }
        if graceful && isRecycled {
            // Its replacement serves: leave as a reload does, not waiting for clients to close.
            finish(.closeWhenIdle, timeout: max(0.5, settings.stopTimeout - 0.5))
            return
        }
        finish(graceful ? .waitForClients : .closeNow, timeout: graceful ? settings.gracefulStopTimeout : min(1, settings.stopTimeout / 2))
    }

    func reload(graceful: Bool) {
        do {
            try worker.runWorkerReload()
        } catch {
            log.write("onWorkerReload of \(worker.name) threw: \(error)")
        }
        guard worker.reloadable, !stopping else { return }
        stopping = true
        slot?.pointee.state = SlotRecord.stopping
        // Our reload lets the exchange in flight finish (closeWhenIdle), so a rolling reload under load
        // fails no request; graceful reload leaves connections to their clients, up to its timeout.
        finish(graceful ? .waitForClients : .closeWhenIdle, timeout: graceful ? settings.gracefulStopTimeout : max(0.5, settings.stopTimeout - 0.5))
    }

    /// What a stopping process does with its connections.
    enum Ending {
        /// Close them now (stop).
        case closeNow
        /// Close each once idle, so the exchange in flight finishes (reload).
        case closeWhenIdle
        /// Leave them open until their clients close them, as Workerman's graceful stop and reload do
        /// (`stop -g`, `reload -g`): an answer still being prepared (a timer, a query) is not cut off,
        /// which closing an idle-looking connection would do.
        case waitForClients
    }

    /// Stops accepting, then closes connections as `ending` says, and exits when none is left or
    /// `timeout` passes (then closing what remains).
    func finish(_ ending: Ending, timeout: Double) {
        // Keep-alive (HTTP) connections drain after their next answer in both polite endings; an idle
        // one is closed after the grace, well inside the timeout.
        let idleGrace = min(settings.keepAliveDrainGrace, timeout / 2)
        switch ending {
        case .closeNow:
            worker.stopServing(closeConnections: true)
        case .closeWhenIdle:
            worker.drainKeepAliveConnections(idleGrace: idleGrace)
            worker.drainConnections()
        case .waitForClients:
            worker.stopServing(closeConnections: false)
            worker.drainKeepAliveConnections(idleGrace: idleGrace)
        }
        let deadline = MonotonicClock.now() + UInt64(max(0, timeout) * 1e9)
        var check: TimerID?
        let done = { [unowned self] in
            if let check { self.loop.cancelTimer(check) }
            self.loop.stop()
        }
        // Async handler tasks in flight (an onCloseAsync, a handler of a connection closed meanwhile) are
        // waited for as connections are.
        let tasks = TransportContext.of(loop).tasks
        if worker.connectionCount == 0 && tasks.count == 0 {
            done()
            return
        }
        check = try? loop.addTimer(every: 0.02) { [unowned self] in
            if self.worker.connectionCount == 0 && tasks.count == 0 {
                done()
            } else if MonotonicClock.now() >= deadline {
                self.log.write("worker[\(self.worker.name):\(getpid())] closing \(self.worker.connectionCount) remaining connection(s)")
                for connection in TransportContext.of(self.loop).liveConnections { connection.destroy() }
                done()
            }
        }
    }

    /// `connections`: this process's rows, written next to the status board for the CLI to collect.
    private func writeConnections() {
        guard let board else { return }
        let answer = ConnectionsReport.answer(
            pid: getpid(),
            workerName: worker.name,
            connections: TransportContext.of(loop).connectionListing
        )
        do {
            try writeText(answer, to: "\(board.path).connections.\(getpid())")
        } catch {
            log.write("worker[\(worker.name):\(getpid())] could not answer connections: \(error)")
        }
    }
}
