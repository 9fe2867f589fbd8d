// The `status` tables rendered from a board in memory, with a manual clock: the exit table, one row per
// slot (live, restarting), the summary, qps between two samples, and the busy column that names the
// callback a stuck process is inside and for how long. No process is started.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

@Suite("StatusReport")
struct StatusReportTests {
    /// Two workers, two slots of the first and one of the second, on a board no file backs.
    static func fixture() throws -> (report: StatusReport, board: StatusBoard, clock: ManualClock) {
        let web = try Worker<RawCodec>(tcp: "127.0.0.1:8080")
        web.name = "web"
        web.count = 2
        let tick = Worker<RawCodec>()
        tick.name = "ticker"
        let board = try StatusBoard.inMemory(slots: 3, workers: 2, masterPID: getpid())
        let clock = ManualClock()
        var report = StatusReport(plan: [web, tick], board: board, startFile: "app.swift")
        report.clock = clock
        return (report, board, clock)
    }

    /// Marks slot 0 running in this process (the report checks that the pid exists) with `requests`.
    static func makeLive(_ board: StatusBoard, requests: Int) {
        board.slot(0).pointee.pid = getpid()
        board.slot(0).pointee.workerIndex = 0
        board.slot(0).pointee.state = SlotRecord.running
        board.slot(0).pointee.statistics.totalRequest = requests
    }

    /// The row of the PROCESS STATUS table that starts with `first`, as cells.
    static func row(_ text: String, startingWith first: String) -> [String] {
        let line = text.split(separator: "\n").first { $0.hasPrefix(first + " ") } ?? ""
        return line.split(separator: " ").map(String.init)
    }

    @Test("live slots show their counters, a freed slot shows as restarting, the summary adds up")
    func rows() throws {
        var (report, board, _) = try Self.fixture()
        Self.makeLive(board, requests: 200)
        board.slot(0).pointee.startedAt = 1_700_000_000
        board.slot(0).pointee.statistics.connections = 3
        board.slot(0).pointee.statistics.packetErr = 2
        board.slot(0).pointee.statistics.sendFail = 8
        board.slot(1).pointee.workerIndex = 0
        board.slot(2).pointee.workerIndex = 1
        board.recordExit(worker: 0, status: 9)
        board.recordExit(worker: 0, status: 9)
        let text = report.render()

        #expect(text.contains("GLOBAL STATUS") && text.contains("PROCESS STATUS"))
        #expect(text.contains("2 workers") && text.contains("3 processes"))
        #expect(Self.row(text, startingWith: "web").prefix(3) == ["web", "9", "2"], "exit status 9, twice")
        #expect(Self.row(text, startingWith: "ticker").prefix(3) == ["ticker", "0", "0"], "no exits")
        let live = Self.row(text, startingWith: String(getpid()))
        #expect(live.count == 16)
        #expect(Array(live[2...6]) == ["tcp://127.0.0.1:8080", "1700000000", "web", "3", "200"])
        #expect(live[7] == "0", "no qps from a single sample")
        #expect(live[14] == "95%", "(200 - 2 - 8) of 200, rounded down")
        #expect(live[15] == "[idle]")
        let restarting = text.split(separator: "\n").filter { $0.hasSuffix("[restarting]") }
        #expect(restarting.count == 2)
        let summary = Self.row(text, startingWith: "Summary")
        #expect(Array(summary[5...7]) == ["3", "200", "0"])
        #expect(summary.last == "[Summary]")
        #expect(!text.contains("TLS handshake failures"), "no line while none failed")
        board.slot(0).pointee.statistics.handshakeFailures = 4
        #expect(report.render().contains("TLS handshake failures: 4 (pid \(getpid()): 4)\n"))
    }

    @Test("qps is the request count's change over the manual clock between two renders")
    func queriesPerSecond() throws {
        var (report, board, clock) = try Self.fixture()
        Self.makeLive(board, requests: 1_000)
        _ = report.render()
        clock.advance(by: .milliseconds(500))
        board.slot(0).pointee.statistics.totalRequest = 1_250
        let text = report.render()
        #expect(Self.row(text, startingWith: String(getpid()))[7] == "500")
        #expect(Self.row(text, startingWith: "Summary")[7] == "500")
    }

    @Test(
        "the state column: starting, stopping, idle, and busy with the callback, its subject and the time",
        arguments: [
            (SlotRecord.starting, ActivityRecord.idle, UInt32(0), UInt64(0), UInt64(0), "[starting]"),
            (SlotRecord.stopping, ActivityRecord.running, ActivityCallback.onMessage.rawValue, 12, 5_000, "[stopping]"),
            (SlotRecord.running, ActivityRecord.polling, UInt32(0), 0, 5_000, "[idle]"),
            (SlotRecord.running, ActivityRecord.running, ActivityCallback.onMessage.rawValue, 12, 999, "[idle]"),
            (SlotRecord.running, ActivityRecord.running, ActivityCallback.onMessage.rawValue, 12, 3_200, "[busy] onMessage conn 12 for 3.2 s"),
            (SlotRecord.running, ActivityRecord.running, ActivityCallback.io.rawValue, 7, 1_000, "[busy] io fd 7 for 1.0 s"),
        ]
    )
    func state(slot: UInt32, phase: UInt32, callback: UInt32, subject: UInt64, busyMilliseconds: UInt64, expected: String) {
        let now: UInt64 = 100_000_000_000
        var record = SlotRecord()
        record.state = slot
        record.activity.phase = phase
        record.activity.callback = callback
        record.activity.subject = subject
        record.activity.since = now - busyMilliseconds * 1_000_000
        #expect(StatusReport.state(record, now: now) == expected)
    }

    @Test(
        "async handler tasks in flight: counted while young, the oldest named with its age once over a second",
        arguments: [
            (0, UInt64(0), "[idle]"),
            (1, UInt64(200), "[idle] 1 task"),
            (3, UInt64(61_000), "[tasks 3] oldest onMessage conn 12 for 61.0 s"),
        ]
    )
    func tasks(inFlight: Int, oldestMilliseconds: UInt64, expected: String) {
        let now: UInt64 = 100_000_000_000
        var record = SlotRecord()
        record.state = SlotRecord.running
        record.activity.phase = ActivityRecord.polling
        record.statistics.tasksInFlight = inFlight
        if inFlight > 0 {
            record.statistics.oldestTaskCallback = Int(ActivityCallback.onMessage.rawValue)
            record.statistics.oldestTaskSubject = 12
            record.statistics.oldestTaskSince = Int(now - oldestMilliseconds * 1_000_000)
        }
        #expect(StatusReport.state(record, now: now) == expected)
    }
}
