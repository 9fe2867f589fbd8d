#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One measured operation run by two contestants: ours and a peer, doing the same work.
public struct Benchmark {
    /// Short name used on the command line and in the table, e.g. `timer-fire`.
    public let name: String
    /// One line: what is measured.
    public let summary: String
    /// Operations per measurement unless `--count` overrides it.
    public let defaultCount: Int
    /// Runs `count` operations with our library, bounded by the deadline; called on the main thread.
    public let ours: (_ count: Int, _ deadline: Deadline) throws -> Sample
    /// The same work with the peer.
    public let peer: (_ count: Int, _ deadline: Deadline) throws -> Sample

    public init(
        name: String,
        summary: String,
        defaultCount: Int,
        ours: @escaping (_ count: Int, _ deadline: Deadline) throws -> Sample,
        peer: @escaping (_ count: Int, _ deadline: Deadline) throws -> Sample
    ) {
        self.name = name
        self.summary = summary
        self.defaultCount = defaultCount
        self.ours = ours
        self.peer = peer
    }
}

/// Runs benchmarks side by side in one process: every round runs each selected benchmark for both
/// contestants, alternating who goes first, so slow drift of a shared machine hits both alike. Reports
/// the median over rounds, and the median of the per-round ratios (as `anchors.sh` does).
public struct Runner {
    public var options: RunOptions
    public let peerName: String

    public init(options: RunOptions, peerName: String) {
        self.options = options
        self.peerName = peerName
    }

    private struct Results {
        var ours: [Sample] = []
        var peer: [Sample] = []
        var ratios: [Double] = []
    }

    /// Runs the selected benchmarks and prints the table; returns false if any measurement hit its deadline.
    public func run(_ benchmarks: [Benchmark]) throws -> Bool {
        let selected = try select(benchmarks)
        if options.warmup {
            for benchmark in selected {
                let count = max(1, count(for: benchmark) / 10)
                log("warm-up \(benchmark.name) (\(count) ops each)")
                if options.side != .peer {
                    _ = try benchmark.ours(count, Deadline(secondsFromNow: options.timeoutSeconds))
                }
                if options.side != .ours {
                    _ = try benchmark.peer(count, Deadline(secondsFromNow: options.timeoutSeconds))
                }
            }
        }
        var results = Array(repeating: Results(), count: selected.count)
        for round in 1...options.rounds {
            for (index, benchmark) in selected.enumerated() {
                let count = count(for: benchmark)
                // A side left out with `--only` counts as a skipped sample (NaN rate, shown as n/a).
                var ours: Sample? = options.side == .peer ? .skipped : nil
                var peer: Sample? = options.side == .ours ? .skipped : nil
                // Alternate who goes first: whoever runs second inherits the first one's warm caches or mess.
                for oursTurn in round % 2 == 1 ? [true, false] : [false, true] {
                    let deadline = Deadline(secondsFromNow: options.timeoutSeconds)
                    if oursTurn && ours == nil {
                        ours = try benchmark.ours(count, deadline)
                    } else if !oursTurn && peer == nil {
                        peer = try benchmark.peer(count, deadline)
                    }
                }
                results[index].ours.append(ours!)
                results[index].peer.append(peer!)
                results[index].ratios.append(ours!.operationsPerSecond / peer!.operationsPerSecond)
                log(
                    "round \(round)/\(options.rounds) \(benchmark.name): ours \(format(ours!)) ops/s, "
                        + "\(peerName) \(format(peer!)) ops/s, ratio \(formatRatio(results[index].ratios.last!))"
                )
            }
        }
        printTable(selected, results)
        return results.allSatisfy { result in (result.ours + result.peer).allSatisfy(\.completed) }
    }

    private func select(_ benchmarks: [Benchmark]) throws -> [Benchmark] {
        guard !options.names.isEmpty else { return benchmarks }
        let known = Set(benchmarks.map(\.name))
        let unknown = options.names.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw BenchError("unknown benchmark(s): \(unknown.joined(separator: ", ")); known: "
                + benchmarks.map(\.name).joined(separator: ", "))
        }
        return benchmarks.filter { options.names.contains($0.name) }
    }

    private func count(for benchmark: Benchmark) -> Int { options.count ?? benchmark.defaultCount }

    // MARK: - Output

    private func printTable(_ benchmarks: [Benchmark], _ results: [Results]) {
        var lines: [String] = []
        lines.append("")
        lines.append("| benchmark | ours (ops/s) | \(peerName) (ops/s) | ratio ours/\(shortPeer) |")
        lines.append("| --- | ---: | ---: | ---: |")
        var incomplete = false
        for (benchmark, result) in zip(benchmarks, results) {
            let flag = (result.ours + result.peer).allSatisfy(\.completed) ? "" : " *"
            if !flag.isEmpty { incomplete = true }
            lines.append(
                "| \(benchmark.name)\(flag) | \(formatRate(median(result.ours.map(\.operationsPerSecond)))) | "
                    + "\(formatRate(median(result.peer.map(\.operationsPerSecond)))) | "
                    + "\(formatRatio(median(result.ratios))) |"
            )
        }
        lines.append("")
        lines.append(
            "Median of \(options.rounds) round(s); the ratio is the median of the per-round ratios. "
                + "Ranges (min–max ops/s):"
        )
        for (benchmark, result) in zip(benchmarks, results) {
            let ours = result.ours.map(\.operationsPerSecond)
            let peer = result.peer.map(\.operationsPerSecond)
            lines.append(
                "  \(benchmark.name): ours \(formatRate(ours.min()!))–\(formatRate(ours.max()!)), "
                    + "\(peerName) \(formatRate(peer.min()!))–\(formatRate(peer.max()!)), "
                    + "ratio \(formatRatio(result.ratios.min()!))–\(formatRatio(result.ratios.max()!))"
            )
        }
        if incomplete {
            lines.append("* at least one measurement hit its \(options.timeoutSeconds) s deadline: rates are partial")
        }
        print(lines.joined(separator: "\n"))
    }

    private var shortPeer: String { peerName == "SwiftNIO" ? "NIO" : peerName }

    private func format(_ sample: Sample) -> String {
        formatRate(sample.operationsPerSecond) + (sample.completed ? "" : " (incomplete: \(sample.operations) ops)")
    }
}

/// Logs progress to standard error, so standard output holds only the table.
public func log(_ message: String) {
    var bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// `12,345,678`.
public func formatRate(_ rate: Double) -> String {
    guard rate.isFinite else { return "n/a" }
    let digits = String(Int(rate.rounded()))
    var grouped = ""
    for (offset, digit) in digits.enumerated() {
        if offset > 0 && (digits.count - offset) % 3 == 0 { grouped.append(",") }
        grouped.append(digit)
    }
    return grouped
}

/// `1.23`.
public func formatRatio(_ ratio: Double) -> String {
    guard ratio.isFinite else { return "n/a" }
    let hundredths = Int((ratio * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
