// The supervisor's decisions against a scripted launcher and a manual clock: which child it starts,
// restarts at once or after a back-off, signals on stop and reload, and kills when it does not leave.
// No process is started and no real time passes.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

/// A supervisor of workers with `counts` processes each, on a loop with a manual clock.
final class SupervisorRig {
    let clock = ManualClock()
    let loop: EventLoop
    let launcher = ScriptedLauncher()
    let supervisor: Supervisor
    let directory: String

    init(counts: [Int], worker configureWorker: (Worker<RawCodec>) -> Void = { _ in }, configure: (inout ProcessSettings) -> Void = { _ in }) throws {
        directory = try TestFiles.makeTemporaryDirectory("wm-supervisor")
        loop = try EventLoop(backend: ScriptedBackend(clock: clock), clock: clock)
        var settings = ProcessSettings()
        settings.pidFile = "\(directory)/server.pid"
        settings.logFile = "\(directory)/server.log"
        settings.stopTimeout = 2
        configure(&settings)
        let plan: [WorkerBase] = counts.enumerated().map { index, count in
            let worker = Worker()
            worker.name = "w\(index)"
            worker.count = count
            configureWorker(worker)
            return worker
        }
        supervisor = try Supervisor(
            plan: plan, settings: settings, paths: RuntimePaths(settings: settings, executable: "/bin/true"),
            log: ProcessLog(path: settings.logFile!, echo: false), daemon: true, loop: loop, launcher: launcher
        )
        try supervisor.start(watchingSignals: false)
    }

    deinit {
        loop.close()
        TestFiles.removeTree(directory)
    }

    /// Child `pid` exits with raw wait status `status`, and the supervisor hears of it (SIGCHLD).
    func exit(_ pid: pid_t, status: CInt = 0) {
        launcher.exit(pid, status: status)
        supervisor.reapChildren()
    }

    /// Moves time on by `seconds` and runs what became due.
    func advance(_ seconds: Double) throws {
        clock.advance(byNanoseconds: UInt64(seconds * 1e9))
        loop.nextTick {}  // the poll then does not block (nor move the clock further)
        try loop.tick()
    }

    var launchCount: Int { launcher.launches.count }
    var pids: [pid_t] { supervisor.slots.map(\.pid) }
}

@Suite("Supervisor")
struct SupervisorTests {
    @Test("one child per process of each worker, each told its worker, slot and id")
    func startsEveryChild() throws {
        let rig = try SupervisorRig(counts: [2, 1])
        #expect(rig.launchCount == 3)
        let launches = rig.launcher.launches.map(\.launch)
        #expect(launches.map { $0[ChildEnvironment.plan] } == ["0", "0", "1"])
        #expect(launches.map { $0[ChildEnvironment.workerID] } == ["0", "1", "0"])
        #expect(launches.map { $0[ChildEnvironment.slot] } == ["0", "1", "2"])
        #expect(launches.allSatisfy { $0[ChildEnvironment.role] == "worker" && $0.blockedSignals == ChildRuntime.controlSignals })
        #expect(rig.pids == [1000, 1001, 1002])
    }

    @Test("a child that lived is restarted at once, in its slot, and counted")
    func restartAfterALongLife() throws {
        let rig = try SupervisorRig(counts: [2])
        try rig.advance(5)
        rig.exit(1001, status: 1 << 8)
        #expect(rig.launchCount == 3)
        #expect(rig.pids == [1000, 1002])
        #expect(rig.launcher.launches.last?.launch[ChildEnvironment.workerID] == "1")
        #expect(rig.supervisor.board.exits(0).pointee.restarts == 1)
    }

    @Test("a child that keeps dying at start is restarted after 0.1 s, then 0.2 s, and at once again once one lives")
    func backOff() throws {
        let rig = try SupervisorRig(counts: [1])
        try rig.advance(0.05)
        rig.exit(1000, status: 1 << 8)  // the first quick death is forgiven
        #expect(rig.launchCount == 2)
        try rig.advance(0.05)
        rig.exit(1001, status: 1 << 8)
        #expect(rig.launchCount == 2, "the second quick death waits")
        try rig.advance(0.09)
        #expect(rig.launchCount == 2)
        try rig.advance(0.02)
        #expect(rig.launchCount == 3, "restarted 0.1 s later")
        try rig.advance(0.05)
        rig.exit(1002, status: 1 << 8)
        try rig.advance(0.19)
        #expect(rig.launchCount == 3)
        try rig.advance(0.02)
        #expect(rig.launchCount == 4, "then 0.2 s")
        try rig.advance(3)  // this one lives past the window
        rig.exit(1003, status: 1 << 8)
        #expect(rig.launchCount == 5, "a child that lived resets the back-off")
        let log = TestFiles.readText("\(rig.directory)/server.log") ?? ""
        #expect(log.contains("keeps exiting at start; restarting in 0.1 s"), "\(log)")
    }

    @Test("a child that cannot be started is tried again with the back-off")
    func spawnFailure() throws {
        let rig = try SupervisorRig(counts: [1])
        rig.launcher.failingLaunches = 2
        try rig.advance(0.05)
        rig.exit(1000, status: 1 << 8)  // forgiven: restarted at once, which fails (a quick death)…
        #expect(rig.launchCount == 1)
        #expect(rig.supervisor.slots[0].pid == 0)
        try rig.advance(0.11)  // …retried after 0.1 s: fails again
        #expect(rig.launchCount == 1)
        try rig.advance(0.21)  // and after 0.2 s: starts
        #expect(rig.launchCount == 2)
    }

    @Test("stop signals every child, kills one that stays past stopTimeout, and ends when all are gone")
    func stop() throws {
        let rig = try SupervisorRig(counts: [2])
        var stopped = false
        rig.supervisor.onStopped = { stopped = true }
        rig.supervisor.stop(graceful: false)
        #expect(rig.launcher.pids(signalled: SIGINT) == [1000, 1001])
        rig.exit(1000, status: SIGINT)
        #expect(!stopped)
        try rig.advance(1.9)
        #expect(rig.launcher.pids(signalled: SIGKILL).isEmpty)
        try rig.advance(0.2)
        #expect(rig.launcher.pids(signalled: SIGKILL) == [1001])
        rig.exit(1001, status: SIGKILL)
        #expect(stopped)
        #expect(rig.launchCount == 2, "nothing is restarted during a stop")
        // An interrupt during a stop is a clean exit; the SIGKILL is not.
        let exits = rig.supervisor.board.exits(0).pointee
        #expect(exits.statuses.0 == 0 && exits.counts.0 == 1)
        #expect(exits.statuses.1 == SIGKILL && exits.counts.1 == 1)
    }

    @Test("a graceful stop waits gracefulStopTimeout + stopTimeout before killing")
    func gracefulStop() throws {
        let rig = try SupervisorRig(counts: [1], configure: { $0.gracefulStopTimeout = 5 })
        rig.supervisor.stop(graceful: true)
        #expect(rig.launcher.pids(signalled: SIGQUIT) == [1000])
        try rig.advance(6.9)
        #expect(rig.launcher.pids(signalled: SIGKILL).isEmpty)
        try rig.advance(0.2)
        #expect(rig.launcher.pids(signalled: SIGKILL) == [1000])
    }

    @Test("reload replaces one child at a time, each after the previous one left")
    func rollingReload() throws {
        let rig = try SupervisorRig(counts: [3])
        rig.supervisor.reload(graceful: false)
        #expect(rig.launcher.pids(signalled: SIGUSR1) == [1000])
        #expect(rig.supervisor.state == .reloading)
        rig.exit(1000)
        #expect(rig.pids == [1003, 1001, 1002])
        #expect(rig.launcher.pids(signalled: SIGUSR1) == [1000, 1001])
        rig.exit(1001)
        rig.exit(1002)
        #expect(rig.pids == [1003, 1004, 1005])
        #expect(rig.supervisor.state == .running)
        #expect(rig.supervisor.board.exits(0).pointee.restarts == 0, "a reload is not a restart")
        // A second reload while one runs is ignored.
        rig.supervisor.reload(graceful: false)
        rig.supervisor.reload(graceful: false)
        #expect(rig.launcher.pids(signalled: SIGUSR1) == [1000, 1001, 1002, 1003])
    }

    @Test("a child that does not leave on reload is killed after stopTimeout")
    func reloadKill() throws {
        let rig = try SupervisorRig(counts: [1])
        rig.supervisor.reload(graceful: false)
        try rig.advance(2.1)
        #expect(rig.launcher.pids(signalled: SIGKILL) == [1000])
        rig.exit(1000, status: SIGKILL)
        #expect(rig.pids == [1001])
    }

    @Test("a recycled child is replaced first, in a spare slot, and told to drain only once its replacement serves")
    func recycling() throws {
        let rig = try SupervisorRig(counts: [1], worker: { $0.maxRequests = 10 })
        let board = rig.supervisor.board!
        #expect(board.slotCount == 2, "one spare slot for the recycled process's replacement")
        // The child serves, then asks to be recycled.
        board.slot(0).pointee.pid = 1000
        board.slot(0).pointee.state = SlotRecord.running
        board.slot(0).pointee.recycled = SlotRecord.recycledForRequests
        try rig.advance(0.06)
        #expect(rig.launchCount == 2)
        #expect(rig.launcher.launches.last?.launch[ChildEnvironment.slot] == "1")
        try rig.advance(0.06)
        #expect(rig.launcher.pids(signalled: SIGQUIT).isEmpty, "the replacement does not serve yet")
        board.slot(1).pointee.pid = 1001
        board.slot(1).pointee.state = SlotRecord.running
        try rig.advance(0.06)
        #expect(rig.launcher.pids(signalled: SIGQUIT) == [1000])
        rig.exit(1000)
        #expect(rig.launchCount == 2, "no second replacement")
        #expect(rig.pids == [1001])
        #expect(board.exits(0).pointee.recycles == 1 && board.exits(0).pointee.restarts == 0)
        #expect(board.slot(0).pointee.workerIndex == -1 && board.slot(0).pointee.state == SlotRecord.free)
        // The freed slot is the spare of the next recycle.
        board.slot(1).pointee.recycled = SlotRecord.recycledForMemory
        try rig.advance(0.06)
        #expect(rig.launcher.launches.last?.launch[ChildEnvironment.slot] == "0")
    }

    @Test("upgrade: a new master that exits before it serves leaves this one running and the reply says why")
    func failedUpgrade() throws {
        let rig = try SupervisorRig(counts: [1])
        rig.supervisor.upgrade()
        #expect(rig.supervisor.state == .upgrading)
        let launch = try #require(rig.launcher.launches.last?.launch)
        #expect(launch[ChildEnvironment.role] == "master" && launch[MasterHandover.readyVariable] != nil)
        // A second upgrade meanwhile is refused.
        rig.supervisor.upgrade()
        let paths = rig.supervisor.paths
        #expect(TestFiles.readText(UpgradeReply.path(paths)).flatMap(UpgradeReply.parse) == .refused("an upgrade is in progress"))
        rig.exit(1001, status: 3 << 8)
        #expect(rig.supervisor.state == .running)
        let reply = TestFiles.readText(UpgradeReply.path(paths)).flatMap(UpgradeReply.parse)
        guard case .failed(let why)? = reply else {
            Issue.record("reply: \(String(describing: reply))")
            return
        }
        #expect(why.contains("exited with status 3"), "\(why)")
        #expect(rig.launcher.pids(signalled: SIGKILL) == [1001])
        #expect(rig.pids == [1000], "the children were never touched")
    }

    @Test("upgrade: a new master that never serves is killed after upgradeTimeout")
    func upgradeTimeout() throws {
        let rig = try SupervisorRig(counts: [1], configure: { $0.upgradeTimeout = 3 })
        rig.supervisor.upgrade()
        try rig.advance(2.9)
        #expect(rig.supervisor.state == .upgrading)
        try rig.advance(0.2)
        #expect(rig.supervisor.state == .running)
        #expect(rig.launcher.pids(signalled: SIGKILL) == [1001])
        let reply = TestFiles.readText(UpgradeReply.path(rig.supervisor.paths)).flatMap(UpgradeReply.parse)
        #expect(reply == .failed("the new master (pid 1001) did not serve within 3.0 s (upgradeTimeout)"))
    }
}
