import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A live dashboard of the running program, for an HTTP worker to mount: what `status` shows (the
/// process table, connections, memory, exit counts, a busy process with the callback and connection it
/// is stuck in and for how long), requests per second per process over the last minutes, and the
/// statistics a `StatisticsCollector` aggregates. It reads the shared-memory status board: no signal,
/// no round trip to any process, so a stuck process shows while it is stuck.
///
/// ```swift
/// var dashboard: Dashboard?
/// web.onWorkerStart = { worker in dashboard = Dashboard(loop: worker.loop!, path: "/dashboard") }
/// web.onMessage = { connection, request in
///     if dashboard?.serve(request, on: connection) == true { return }
///     …
/// }
/// ```
///
/// Routes under `path`: the page itself; `api/status` (the snapshot as JSON); `api/history` (requests
/// per second per pid, one sample a second, the last `historySeconds`); `api/statistics` (the collector's
/// per-minute aggregates, when `statisticsFile` is set).
public final class Dashboard {
    public let path: String
    /// Where a `StatisticsCollector` writes its aggregates (nil: no statistics section).
    public var statisticsFile: String?
    private var history: DashboardHistory
    private var sampler: TimerID?
    private let loop: EventLoop

    public init(loop: EventLoop, path: String = "/dashboard", historySeconds: Int = 300, statisticsFile: String? = nil) {
        self.loop = loop
        self.path = path.hasSuffix("/") ? String(path.dropLast()) : path
        self.statisticsFile = statisticsFile
        history = DashboardHistory(capacity: historySeconds)
        sample()
        sampler = try? loop.addTimer(every: 1.0) { [weak self] in self?.sample() }
    }

    deinit { if let sampler { _ = loop.cancelTimer(sampler) } }

    private func sample() {
        guard let snapshot = StatusSnapshot.current() else { return }
        history.sample(snapshot, unixTime: time(nil))
    }

    /// Answers `request` if it is one of the dashboard's; false otherwise (the caller serves it).
    public func serve(_ request: HTTPRequest, on connection: TCPConnection<HTTPServerCodec>) -> Bool {
        guard let response = response(to: request.path) else { return false }
        connection.send(.response(response))
        return true
    }

    /// The dashboard's answer to `path`, or nil if it is not one of the dashboard's.
    public func response(to requestPath: String) -> HTTPResponse? {
        switch requestPath {
        case path, path + "/":
            return HTTPResponse(headers: ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"], body: DashboardPage.html(base: path))
        case path + "/api/status":
            return json(StatusSnapshot.current().map(Self.json) ?? .object([("error", .string("not running under Worker.runAll()"))]))
        case path + "/api/history":
            return json(history.json)
        case path + "/api/statistics":
            guard let file = statisticsFile, let text = try? Syscalls.readFile(file) else {
                return json(.object([("interfaces", .array([]))]))
            }
            return HTTPResponse(headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: String(decoding: text, as: UTF8.self))
        default:
            return nil
        }
    }

    private func json(_ value: DashboardJSON) -> HTTPResponse {
        HTTPResponse(headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: value.text)
    }

    static func json(_ snapshot: StatusSnapshot) -> DashboardJSON {
        .object([
            ("masterPID", .int(Int(snapshot.masterPID))),
            ("startedAt", .int(Int(snapshot.startedAt))),
            ("now", .int(time(nil))),
            ("processes", .array(snapshot.processes.map { process in
                let stats = process.statistics
                return .object([
                    ("pid", .int(Int(process.pid))), ("worker", .string(process.workerName)), ("id", .int(process.workerID)),
                    ("listening", .string(process.listening)), ("startedAt", .int(Int(process.startedAt))),
                    ("memoryMB", .double(process.memoryMegabytes)), ("connections", .int(stats.connections)),
                    ("totalRequest", .int(stats.totalRequest)), ("packetErr", .int(stats.packetErr)),
                    ("thunderHerd", .int(stats.thunderHerd)), ("clientClose", .int(stats.clientClose)),
                    ("sendFail", .int(stats.sendFail)), ("throwException", .int(stats.throwException)),
                    ("timers", .int(process.timers)), ("state", .string(process.state)),
                    ("busy", process.busy.map { busy in
                        .object([("callback", .string(busy.callback)), ("subject", .string(busy.subject)), ("seconds", .double(busy.seconds))])
                    } ?? .null),
                ])
            })),
            ("exits", .array(snapshot.exits.map { exit in
                .object([("worker", .string(exit.workerName)), ("status", .int(Int(exit.status))), ("count", .int(Int(exit.count)))])
            })),
        ])
    }
}
