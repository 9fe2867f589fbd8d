import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// What `status` shows, as values: read from the live status board by any process of the running
/// program (a dashboard in a worker, say), without a signal and without stopping anyone.
///
/// ```swift
/// web.onMessage = { connection, request in
///     guard let status = StatusSnapshot.current() else { return connection.send("not under runAll()") }
///     connection.send("\(status.processes.count) processes, \(status.processes.map(\.connections).reduce(0, +)) connections")
/// }
/// ```
public struct StatusSnapshot: Sendable {
    /// Where a process has been stuck for over a second: the callback, its subject, for how long.
    public struct Busy: Sendable, Hashable {
        /// `onMessage`, `onConnect`, `timer`…
        public var callback: String
        /// `conn 12`, `timer 3`, `fd 7`, or empty.
        public var subject: String
        public var seconds: Double
    }

    public struct Process: Sendable, Hashable {
        public var pid: Int32
        public var workerName: String
        public var workerID: Int
        public var listening: String
        public var startedAt: Int64
        /// `[idle]`, `[busy] onMessage conn 12 for 3.2 s`, `[starting]`, `[stopping]` (as `status` shows).
        public var state: String
        public var busy: Busy?
        public var memoryMegabytes: Double
        public var statistics: TransportStatistics
        public var timers: Int
    }

    public struct Exit: Sendable, Hashable {
        public var workerName: String
        public var status: Int32
        public var count: Int64
    }

    public var masterPID: Int32
    public var startedAt: Int64
    /// Live processes, in slot order (a slot between processes is left out).
    public var processes: [Process]
    public var exits: [Exit]
    /// Monotonic nanoseconds when read (for rates between two snapshots).
    public var readAt: UInt64

    /// The running program's status, read from inside one of its worker processes; nil outside
    /// `Worker.runAll()`'s children (no board).
    public static func current() -> StatusSnapshot? {
        guard let board = StatusBoardReader.board else { return nil }
        return read(board, plan: StatusBoardReader.plan)
    }

    static func read(_ board: StatusBoard, plan: [(name: String, address: String?)]) -> StatusSnapshot {
        let now = MonotonicClock.now()
        var processes: [Process] = []
        for index in 0..<board.slotCount {
            let record = board.slot(index).pointee
            guard record.pid > 0, record.state != SlotRecord.free, processExists(record.pid) else { continue }
            let worker = record.workerIndex >= 0 && Int(record.workerIndex) < plan.count ? plan[Int(record.workerIndex)] : nil
            processes.append(Process(
                pid: record.pid,
                workerName: worker?.name ?? "none",
                workerID: Int(record.workerID),
                listening: worker?.address ?? "none",
                startedAt: record.startedAt,
                state: StatusReport.state(record, now: now),
                busy: busy(record, now: now),
                memoryMegabytes: StatusReport.residentMegabytes(record.pid),
                statistics: record.statistics,
                timers: Int(record.activity.timers)
            ))
        }
        var exits: [Exit] = []
        for (index, worker) in plan.enumerated() {
            for exit in board.exitCounts(worker: index) { exits.append(Exit(workerName: worker.name, status: exit.status, count: exit.count)) }
        }
        return StatusSnapshot(masterPID: board.masterPID, startedAt: board.startedAt, processes: processes, exits: exits, readAt: now)
    }

    private static func busy(_ record: SlotRecord, now: UInt64) -> Busy? {
        let state = StatusReport.state(record, now: now)
        guard state.hasPrefix("[busy] ") else { return nil }
        let activity = record.activity
        let callback = ActivityCallback.named(activity.callback).name
        // "[busy] onMessage conn 12 for 3.2 s": the subject is what lies between the callback and " for ".
        var subject = String(state.dropFirst("[busy] ".count + callback.count))
        if let end = subject.ranges(of: " for ").last { subject = String(subject[..<end.lowerBound]) }
        return Busy(callback: callback, subject: String(subject.drop { $0 == " " }), seconds: Double(now - activity.since) / 1e9)
    }
}

/// The running program's board, opened read-only once.
private enum StatusBoardReader {
    // Safety of `nonisolated(unsafe)`: set once, lazily, by Swift's thread-safe global initialisation,
    // then only read; the mapping it points to is shared memory other processes write, read as values.
    // The file `status` opens: the same settings and executable give the same path.
    nonisolated(unsafe) static let board: StatusBoard? = try? StatusBoard.open(  // safe: immutable once made, read-only mapping
        path: RuntimePaths(settings: WorkerRegistry.settingsLock.value, executable: ChildSpawner.executablePath()).statusFile,
        writable: false
    )
    /// The plan's names and addresses (runAll() sealed it before any callback ran; this reads it again).
    static var plan: [(name: String, address: String?)] { WorkerRegistry.shared.seal().map { ($0.name, $0.address) } }
}
