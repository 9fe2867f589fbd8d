import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Renders the `status` tables from the live status board: Workerman's GLOBAL STATUS and PROCESS STATUS
/// with the classic columns and Workerman 4's (connections, timers, qps, state). A process inside one
/// callback for over a second shows as busy, with the callback, the connection and for how long.
struct StatusReport {
    let plan: [WorkerBase]
    let board: StatusBoard
    let startFile: String
    /// Total requests per pid at the previous sample, for qps (`status -d`).
    var previous: [Int32: (requests: Int, at: UInt64)] = [:]
    /// Where qps and busy times are measured; tests pass a `ManualClock`.
    var clock: any LoopClock = MonotonicClock()

    static let version = "0.1.0"
    /// A callback running longer than this marks the process busy.
    static let busyAfterNanoseconds: UInt64 = 1_000_000_000

    struct Row {
        var cells: [String]
    }

    mutating func render() -> String {
        var out = ""
        let width = 110
        out += rule("GLOBAL STATUS", width) + "\n"
        out += "Workerman for Swift version:\(Self.version)          Swift version:\(Self.swiftVersion)          event-loop:\(BackendKind.automatic.resolved)\n"
        let started = time_t(board.startedAt)
        let uptime = max(0, Int(time(nil) - started))
        out += "start time:\(ProcessLog.timestamp(started))   run \(uptime / 86400) days \(uptime % 86400 / 3600) hours\n"
        out += "load average: \(Self.loadAverage())\n"
        out += "\(Self.loggedInUsers()) users          \(plan.count) workers       \(plan.reduce(0) { $0 + $1.count }) processes\n"
        var exitRows: [[String]] = [["worker_name", "exit_status", "exit_count"]]
        for (index, worker) in plan.enumerated() {
            let exits = board.exitCounts(worker: index)
            if exits.isEmpty {
                exitRows.append([worker.name, "0", "0"])
            } else {
                for exit in exits { exitRows.append([worker.name, String(exit.status), String(exit.count)]) }
            }
        }
        out += Self.table(exitRows)
        out += rule("PROCESS STATUS", width) + "\n"
        var rows: [[String]] = [[
            "pid", "memory", "listening", "timestamp", "worker_name", "connections", "total_request", "qps",
            "packet_err", "thunder_herd", "client_close", "send_fail", "throw_exception", "timers", "suc/total",
            "state",
        ]]
        let now = clock.nanoseconds()
        var totals = TransportStatistics()
        var totalQPS = 0
        var totalMemory = 0.0
        var handshakeFailures: [String] = []
        for index in 0..<board.slotCount {
            let record = board.slot(index).pointee
            let worker = record.workerIndex >= 0 && Int(record.workerIndex) < plan.count ? plan[Int(record.workerIndex)] : nil
            // A spare slot (for a recycled process's replacement) that no process uses now.
            if record.workerIndex < 0 && record.state == SlotRecord.free { continue }
            guard record.pid > 0, record.state != SlotRecord.free, processExists(record.pid) else {
                rows.append(["-", "-", worker?.address ?? "-", "-", worker?.name ?? "-"] + Array(repeating: "-", count: 10) + ["[restarting]"])
                continue
            }
            let stats = record.statistics
            var qps = 0
            if let last = previous[record.pid], now > last.at {
                qps = Int((Double(stats.totalRequest - last.requests) / (Double(now - last.at) / 1e9)).rounded())
            }
            previous[record.pid] = (stats.totalRequest, now)
            let memory = Self.residentMegabytes(record.pid)
            totalMemory += memory
            totals.connections += stats.connections
            totals.totalRequest += stats.totalRequest
            totals.packetErr += stats.packetErr
            totals.thunderHerd += stats.thunderHerd
            totals.clientClose += stats.clientClose
            totals.sendFail += stats.sendFail
            totals.throwException += stats.throwException
            totals.limitHits += stats.limitHits
            totals.idleCloses += stats.idleCloses
            totals.handshakeFailures += stats.handshakeFailures
            handshakeFailures.append("\(record.pid): \(stats.handshakeFailures)")
            totalQPS += qps
            rows.append([
                String(record.pid), String(format2: memory) + "M", worker?.address ?? "none", String(record.startedAt),
                worker?.name ?? "none", String(stats.connections), String(stats.totalRequest), String(qps),
                String(stats.packetErr), String(stats.thunderHerd), String(stats.clientClose), String(stats.sendFail),
                String(stats.throwException), String(record.activity.timers), Self.successRate(stats),
                Self.state(record, now: now),
            ])
        }
        out += Self.table(rows)
        out += rule("PROCESS STATUS", width) + "\n"
        out += Self.table([[
            "Summary", String(format2: totalMemory) + "M", "-", "-", "-", String(totals.connections),
            String(totals.totalRequest), String(totalQPS), String(totals.packetErr), String(totals.thunderHerd),
            String(totals.clientClose), String(totals.sendFail), String(totals.throwException), "-",
            Self.successRate(totals), "[Summary]",
        ]], header: false)
        // Only when a limit acted: the table keeps Workerman's columns for the tools that parse it.
        if totals.limitHits > 0 || totals.idleCloses > 0 {
            out += "Limits: \(totals.limitHits) time(s) a connection limit acted (refused, 503 or accept paused), \(totals.idleCloses) closed idle\n"
        }
        // Also only when some happened (a TLS worker's failed or timed-out handshakes), per pid.
        if totals.handshakeFailures > 0 {
            out += "TLS handshake failures: \(totals.handshakeFailures) (pid \(handshakeFailures.joined(separator: ", pid ")))\n"
        }
        return out
    }

    /// `[idle]`, `[polling]`, or `[busy] onMessage conn 12 for 3.2 s`.
    static func state(_ record: SlotRecord, now: UInt64) -> String {
        if record.state == SlotRecord.starting { return "[starting]" }
        if record.state == SlotRecord.stopping { return "[stopping]" }
        let activity = record.activity
        guard activity.phase == ActivityRecord.running, now > activity.since, now - activity.since >= busyAfterNanoseconds else {
            return taskState(record.statistics, now: now) ?? "[idle]"
        }
        let seconds = Double(now - activity.since) / 1e9
        let callback = ActivityCallback.named(activity.callback)
        let subject: String
        switch callback {
        case .timer: subject = " timer \(activity.subject & 0xffff_ffff)"
        case .io: subject = " fd \(activity.subject)"
        case .signal: subject = " signal \(activity.subject)"
        case .deferred, .job, .task, .none: subject = ""
        default: subject = activity.subject > 0 ? " conn \(activity.subject)" : ""
        }
        return "[busy] \(callback.name)\(subject) for \(String(format1: seconds)) s"
    }

    /// With async handler tasks in flight on an idle loop: `[idle] 3 tasks`, or, once the oldest has run
    /// (suspended) for over a second, `[tasks 3] oldest onMessage conn 12 for 61.0 s` (a stuck `await`).
    static func taskState(_ stats: TransportStatistics, now: UInt64) -> String? {
        guard stats.tasksInFlight > 0 else { return nil }
        let since = UInt64(truncatingIfNeeded: stats.oldestTaskSince)
        guard since > 0, now > since, now - since >= busyAfterNanoseconds else {
            return "[idle] \(stats.tasksInFlight) task\(stats.tasksInFlight == 1 ? "" : "s")"
        }
        let callback = ActivityCallback.named(UInt32(truncatingIfNeeded: stats.oldestTaskCallback))
        let subject = stats.oldestTaskSubject > 0 ? " conn \(stats.oldestTaskSubject)" : ""
        let seconds = Double(now - since) / 1e9
        return "[tasks \(stats.tasksInFlight)] oldest \(callback.name)\(subject) for \(String(format1: seconds)) s"
    }

    static func successRate(_ stats: TransportStatistics) -> String {
        guard stats.totalRequest > 0 else { return "100%" }
        let good = max(0, stats.totalRequest - stats.packetErr - stats.sendFail)
        return "\(Int((Double(good) * 100 / Double(stats.totalRequest)).rounded(.down)))%"
    }

    private func rule(_ title: String, _ width: Int) -> String {
        let dashes = max(0, width - title.count)
        return String(repeating: "-", count: dashes / 2) + title + String(repeating: "-", count: dashes - dashes / 2)
    }

    /// Left-aligned columns padded to the widest cell + 2.
    static func table(_ rows: [[String]], header: Bool = true) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }

    static func residentMegabytes(_ pid: pid_t) -> Double {
        guard let text = try? readText("/proc/\(pid)/status"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }

    static func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "-" }
        return loads.map { String(format2: $0) }.joined(separator: ", ")
    }

    static func loggedInUsers() -> Int {
        var users = Set<String>()
        setutxent()
        while let entry = getutxent() {
            if entry.pointee.ut_type == USER_PROCESS {
                let name = withUnsafeBytes(of: entry.pointee.ut_user) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                users.insert(name)
            }
        }
        endutxent()
        return users.count
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        "6.3"
        #elseif swift(>=6.2)
        "6.2"
        #else
        "6"
        #endif
    }
}

extension String {
    /// Two decimals, without Foundation.
    init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let fraction = abs(scaled % 100)
        self = "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// One decimal, without Foundation.
    init(format1 value: Double) {
        let scaled = Int((value * 10).rounded())
        self = "\(scaled / 10).\(abs(scaled % 10))"
    }
}
