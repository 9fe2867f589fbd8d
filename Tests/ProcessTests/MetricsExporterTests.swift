// The metrics text rendered from a board in memory: samples per live slot, escaped labels, cumulative
// histogram buckets, exits and restarts per worker. No process is started.

import Testing
import WorkermanEventLoop
import WorkermanTransport

@testable import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

@Suite("MetricsExporter")
struct MetricsExporterTests {
    @Test func rendersLiveSlotsWithEscapedLabelsAndCumulativeBuckets() throws {
        let board = try StatusBoard.inMemory(slots: 3, workers: 2, masterPID: getpid())
        let live = board.slot(0)
        live.pointee.state = SlotRecord.running
        live.pointee.pid = getpid()
        live.pointee.workerIndex = 0
        live.pointee.workerID = 1
        live.pointee.statistics.totalRequest = 42
        live.pointee.statistics.bytesWritten = 7
        live.pointee.statistics.handshakeFailures = 5
        live.pointee.activity.tickHistogram.record(1_000)  // first bucket
        live.pointee.activity.tickHistogram.record(100_000)  // third (≤ 256 µs)
        live.pointee.activity.tickHistogram.record(10_000_000_000)  // past the last bound
        board.recordExit(worker: 0, status: 0)
        board.recordExit(worker: 0, status: 9)
        board.exits(0).pointee.restarts = 1
        // Slot 1 is free: no samples. Slot 2 runs worker 1, whose name needs escaping.
        let other = board.slot(2)
        other.pointee.state = SlotRecord.running
        other.pointee.pid = 1
        other.pointee.workerIndex = 1
        other.pointee.workerID = 0

        var exporter = MetricsExporter(board: board, workerNames: ["web", "a \"quoted\\ name\n"])
        let text = exporter.render().string
        let labels = "{worker=\"web\",id=\"1\",pid=\"\(getpid())\"}"
        #expect(text.contains("workerman_requests_total\(labels) 42\n"), "\(text)")
        #expect(text.contains("workerman_sent_bytes_total\(labels) 7\n"))
        #expect(text.contains("workerman_tls_handshake_failures_total\(labels) 5\n"), "\(text)")
        #expect(text.contains("worker=\"a \\\"quoted\\\\ name\\n\",id=\"0\",pid=\"1\""), "\(text)")
        #expect(samples("workerman_requests_total", in: text).count == 2)
        let histogram = "{worker=\"web\",id=\"1\",pid=\"\(getpid())\","
        #expect(text.contains("workerman_tick_duration_seconds_bucket\(histogram)le=\"0.000016\"} 1\n"), "\(text)")
        #expect(text.contains("workerman_tick_duration_seconds_bucket\(histogram)le=\"0.000064\"} 1\n"))
        #expect(text.contains("workerman_tick_duration_seconds_bucket\(histogram)le=\"0.000256\"} 2\n"))
        #expect(text.contains("workerman_tick_duration_seconds_bucket\(histogram)le=\"4.194304\"} 2\n"))
        #expect(text.contains("workerman_tick_duration_seconds_bucket\(histogram)le=\"+Inf\"} 3\n"))
        #expect(text.contains("workerman_tick_duration_seconds_sum\(labels) 10.000101000\n"), "\(text)")
        #expect(text.contains("workerman_tick_duration_seconds_count\(labels) 3\n"))
        #expect(text.contains("workerman_exits_total{worker=\"web\",status=\"9\"} 1\n"))
        #expect(text.contains("workerman_restarts_total{worker=\"web\"} 1\n"))
        #expect(text.contains("workerman_processes{worker=\"web\"} 1\n"))
        #expect(samples("workerman_resident_memory_bytes", in: text).first { $0.labels == labels }.map { $0.value > 0 } == true)

        // A second render of the same board says the same (the buffer reserve is not the content).
        let again = exporter.render().string
        #expect(again.count > text.count - 100)
    }

    @Test func secondsAreWrittenExactly() {
        var text = MetricsText(capacity: 64)
        for nanoseconds: UInt64 in [0, 1, 999_999_999, 1_000_000_000, 12_034_000_000] {
            text.appendSeconds(nanoseconds: nanoseconds)
            text.append(" ")
        }
        #expect(text.buffer.string == "0.000000000 0.000000001 0.999999999 1.000000000 12.034000000 ")
    }
}
