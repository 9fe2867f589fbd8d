import WorkermanEventLoop
import WorkermanProcess
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// The collecting side of statistics (workerman-statistics' StatisticWorker): receives the workers'
/// datagrams, sums them per interface and minute (`StatisticsAggregator`, bounded), ignores and counts
/// forged ones (also as the process's packet_err in `status`), and writes the sums as JSON to `file`
/// once a second for a `Dashboard` (`statisticsFile:`) in any process of the machine.
///
/// ```swift
/// let statistics = try UDPWorker(udp: "127.0.0.1:55656")
/// statistics.name = "statistics"
/// StatisticsCollector.attach(to: statistics, file: "/run/app/statistics.json")
/// ```
public final class StatisticsCollector {
    public let loop: EventLoop
    public let file: String?
    public private(set) var aggregator: StatisticsAggregator
    /// Datagrams that were not a well-formed report.
    public private(set) var forged = 0
    private var writer: TimerID?

    public init(loop: EventLoop, file: String?, aggregator: StatisticsAggregator = StatisticsAggregator()) {
        self.loop = loop
        self.file = file
        self.aggregator = aggregator
        if file != nil { writer = try? loop.addTimer(every: 1.0) { [weak self] in self?.flush() } }
    }

    deinit { if let writer { _ = loop.cancelTimer(writer) } }

    /// Makes `worker`'s processes collectors: one per process (give the worker `count = 1`, so one
    /// file has every report).
    public static func attach(to worker: UDPWorker<RawCodec>, file: String?, aggregator: StatisticsAggregator = StatisticsAggregator()) {
        // One collector per process, held by the closures the worker keeps.
        final class Holder { var collector: StatisticsCollector? }
        let holder = Holder()
        let previous = worker.onWorkerStart
        worker.onWorkerStart = { worker in
            holder.collector = StatisticsCollector(loop: worker.loop!, file: file, aggregator: aggregator)
            try previous?(worker)
        }
        worker.onMessage = { _, datagram in holder.collector?.receive(datagram) }
    }

    /// One datagram.
    public func receive(_ datagram: ByteBuffer) {
        let report = datagram.withReadableBytes { StatisticsReport(datagram: $0) }
        guard let report else {
            forged += 1
            TransportContext.of(loop).statistics.packetErr += 1
            return
        }
        aggregator.add(report, now: StatisticsClock.unixSeconds())
    }

    /// The sums as JSON: `{"received":…,"forged":…,"overflow":…,"interfaces":[{"module","interface",
    /// "calls","success","cost","maxCost","codes":{"code":count},"lastMessage","perMinute":[calls…],
    /// "costPerMinute":[average seconds…],"successPerMinute":[…]}]}`, minutes oldest first, the last
    /// 30 of the window, zero-filled.
    public var json: String {
        let now = StatisticsClock.unixSeconds() / 60
        let shown = min(30, aggregator.minutes)
        let interfaces: [DashboardJSON] = aggregator.totals.map { key, total in
            let list = aggregator.interfaces[key] ?? []
            var calls: [DashboardJSON] = []
            var cost: [DashboardJSON] = []
            var success: [DashboardJSON] = []
            for minute in (now - shown + 1)...now {
                let entry = list.first { $0.minute == minute }
                calls.append(.int(entry?.calls ?? 0))
                cost.append(.double(entry.map { $0.calls > 0 ? $0.cost / Double($0.calls) : 0 } ?? 0))
                success.append(.int(entry?.successes ?? 0))
            }
            return .object([
                ("module", .string(key.module)), ("interface", .string(key.interface)),
                ("calls", .int(total.calls)), ("success", .int(total.successes)),
                ("cost", .double(total.cost)), ("maxCost", .double(total.maxCost)),
                ("codes", .object(total.codes.sorted { $0.key < $1.key }.map { (String($0.key), .int($0.value)) })),
                ("lastMessage", .string(total.lastMessage)),
                ("perMinute", .array(calls)), ("costPerMinute", .array(cost)), ("successPerMinute", .array(success)),
            ])
        }
        return DashboardJSON.object([
            ("received", .int(aggregator.received)), ("forged", .int(forged)), ("overflow", .int(aggregator.overflow)),
            ("interfaces", .array(interfaces)),
        ]).text
    }

    /// Drops expired minutes and writes the file (whole, then renamed over the old one, so a reader
    /// never sees half of it).
    public func flush() {
        aggregator.expire(now: StatisticsClock.unixSeconds())
        guard let file else { return }
        let temporary = "\(file).\(getpid()).tmp"
        do {
            try Syscalls.writeFile(temporary, Array(json.utf8))
            try Syscalls.rename(temporary, to: file)
        } catch {
            try? Syscalls.unlink(temporary)  // nothing to remove when the write itself failed
        }
    }
}
