import WorkermanProcess
import WorkermanTransport

/// Requests per second of each process over the last minutes, sampled from the status board once a
/// second by the process that serves the dashboard (each serving process keeps its own; they read the
/// same board, so they agree).
struct DashboardHistory {
    struct Series {
        var worker: String
        /// Requests per second at each sample; nil before the process existed.
        var rates: [Double?]
    }

    let capacity: Int
    /// Unix seconds of each sample.
    private(set) var times: [Int] = []
    private var series: [Int32: Series] = [:]
    private var last: [Int32: (requests: Int, at: UInt64)] = [:]

    init(capacity: Int = 300) { self.capacity = capacity }

    mutating func sample(_ snapshot: StatusSnapshot, unixTime: Int) {
        times.append(unixTime)
        var seen = Set<Int32>()
        for process in snapshot.processes {
            seen.insert(process.pid)
            let requests = process.statistics.totalRequest
            var rate: Double?
            if let previous = last[process.pid], snapshot.readAt > previous.at {
                rate = Double(requests - previous.requests) / (Double(snapshot.readAt - previous.at) / 1e9)
            }
            last[process.pid] = (requests, snapshot.readAt)
            var entry = series[process.pid] ?? Series(worker: process.workerName, rates: Array(repeating: nil, count: times.count - 1))
            entry.rates.append(rate.map { max(0, $0) })
            series[process.pid] = entry
        }
        // A process that is gone keeps its line (nil from now on) until it scrolls out.
        for pid in series.keys where !seen.contains(pid) {
            series[pid]!.rates.append(nil)
            last[pid] = nil
        }
        if times.count > capacity {
            let extra = times.count - capacity
            times.removeFirst(extra)
            for pid in series.keys { series[pid]!.rates.removeFirst(min(extra, series[pid]!.rates.count)) }
        }
        series = series.filter { $0.value.rates.contains { $0 != nil } }
    }

    var json: DashboardJSON {
        .object([
            ("times", .array(times.map { .int($0) })),
            ("series", .array(series.sorted { $0.key < $1.key }.map { pid, entry in
                .object([
                    ("pid", .int(Int(pid))), ("worker", .string(entry.worker)),
                    ("rates", .array(entry.rates.map { $0.map { .double($0) } ?? .null })),
                ])
            })),
        ])
    }
}
