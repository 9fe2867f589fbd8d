import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Renders the status board as Prometheus text: one sample per live process for each counter of the
/// `status` table, its memory, whether it is busy and for how long, and its loop's tick time histogram;
/// per worker, exits by status and restarts. Reads shared memory only: no child is signalled or waited for.
///
/// Labels: `worker` (the worker's name), `id` (its process index) and `pid`.
struct MetricsExporter {
    let board: StatusBoard
    /// `worker="name"` per worker index, escaped once.
    private let workerLabels: [[UInt8]]
    /// The size of the last scrape, to reserve the next one's buffer in one allocation.
    private var lastSize = 16 * 1024

    init(board: StatusBoard, workerNames: [String]) {
        self.board = board
        workerLabels = workerNames.map { Array("worker=\"\(MetricsText.escapedLabelValue($0))\"".utf8) }
    }

    /// The whole exposition.
    mutating func render() -> ByteBuffer {
        var text = MetricsText(capacity: lastSize + 1024)
        let now = MonotonicClock.now()
        let slots = liveSlots()

        counter(&text, slots, "workerman_requests_total", "Messages delivered to onMessage.") { $0.statistics.totalRequest }
        gauge(&text, slots, "workerman_connections", "Open connections.") { $0.statistics.connections }
        counter(&text, slots, "workerman_received_bytes_total", "Bytes read from connections.") { $0.statistics.bytesRead }
        counter(&text, slots, "workerman_sent_bytes_total", "Bytes written to connections.") { $0.statistics.bytesWritten }
        counter(&text, slots, "workerman_packet_errors_total", "Streams a codec rejected (packet_err).") { $0.statistics.packetErr }
        counter(&text, slots, "workerman_send_failures_total", "Sends that failed (send_fail).") { $0.statistics.sendFail }
        counter(&text, slots, "workerman_callback_exceptions_total", "User callbacks that threw (throw_exception).") { $0.statistics.throwException }
        counter(&text, slots, "workerman_client_closes_total", "Connections the peer closed first (client_close).") { $0.statistics.clientClose }
        counter(&text, slots, "workerman_thundering_herd_total", "Accepts that found nothing (thunder_herd).") { $0.statistics.thunderHerd }
        counter(&text, slots, "workerman_accept_failures_total", "Accepts refused for lack of descriptors.") { $0.statistics.acceptFailures }
        counter(&text, slots, "workerman_limit_hits_total", "Times a connection limit acted: a connection refused or answered 503, or accepting paused.") { $0.statistics.limitHits }
        counter(&text, slots, "workerman_idle_closes_total", "Connections closed by the idle timeout.") { $0.statistics.idleCloses }
        counter(&text, slots, "workerman_tls_handshake_failures_total", "TLS handshakes that failed or timed out (plain HTTP to a TLS port among them).") {
            $0.statistics.handshakeFailures
        }
        gauge(&text, slots, "workerman_timers", "Live timers.") { Int($0.activity.timers) }
        counter(&text, slots, "workerman_loop_ticks_total", "Event loop ticks completed.") { Int(truncatingIfNeeded: $0.activity.ticks) }
        gauge(&text, slots, "workerman_resident_memory_bytes", "Resident memory.") { ResidentMemory.bytes(of: $0.pid) }
        gauge(&text, slots, "workerman_process_start_time_seconds", "Start time of the process since the epoch.") { Int($0.startedAt) }
        gauge(&text, slots, "workerman_busy", "1 while the process runs a callback, 0 while it waits for events.") {
            $0.activity.phase == ActivityRecord.running ? 1 : 0
        }
        text.family("workerman_busy_seconds", "gauge", "How long the callback running now has run (0 when not busy).")
        for index in slots {
            let record = board.slot(index).pointee
            let running = record.activity.phase == ActivityRecord.running && now > record.activity.since
            text.append("workerman_busy_seconds{")
            labels(&text, record)
            text.append("} ")
            text.appendSeconds(nanoseconds: running ? now - record.activity.since : 0)
            text.append("\n")
        }
        tickHistogram(&text, slots)
        workerFamilies(&text)
        text.family("workerman_master_start_time_seconds", "gauge", "Start time of the master since the epoch.")
        text.append("workerman_master_start_time_seconds ")
        text.append(Int(board.startedAt))
        text.append("\n")
        lastSize = text.buffer.readableBytes
        return text.buffer
    }

    /// Indices of slots with a live process. A fixed-size array on the stack would do as well; the
    /// board has few slots, and this one array is per scrape, not per child.
    private func liveSlots() -> [Int] {
        var live: [Int] = []
        live.reserveCapacity(board.slotCount)
        for index in 0..<board.slotCount {
            let record = board.slot(index).pointee
            if record.state != SlotRecord.free, record.pid > 0, record.workerIndex >= 0, Int(record.workerIndex) < workerLabels.count {
                live.append(index)
            }
        }
        return live
    }

    private func labels(_ text: inout MetricsText, _ record: SlotRecord) {
        text.append(bytes: workerLabels[Int(record.workerIndex)])
        text.append(",id=\"")
        text.append(Int(record.workerID))
        text.append("\",pid=\"")
        text.append(Int(record.pid))
        text.append("\"")
    }

    private func sample(_ text: inout MetricsText, _ slots: [Int], _ name: StaticString, _ value: (SlotRecord) -> Int) {
        for index in slots {
            let record = board.slot(index).pointee
            text.append(name)
            text.append("{")
            labels(&text, record)
            text.append("} ")
            text.append(value(record))
            text.append("\n")
        }
    }

    private func counter(_ text: inout MetricsText, _ slots: [Int], _ name: StaticString, _ help: StaticString, _ value: (SlotRecord) -> Int) {
        text.family(name, "counter", help)
        sample(&text, slots, name, value)
    }

    private func gauge(_ text: inout MetricsText, _ slots: [Int], _ name: StaticString, _ help: StaticString, _ value: (SlotRecord) -> Int) {
        text.family(name, "gauge", help)
        sample(&text, slots, name, value)
    }

    /// Bucket bounds in seconds, as `TickHistogram.upperBounds` in nanoseconds.
    private static let bucketLabels: [StaticString] = [
        "0.000016", "0.000064", "0.000256", "0.001024", "0.004096", "0.016384", "0.065536", "0.262144", "1.048576", "4.194304", "+Inf",
    ]

    private func tickHistogram(_ text: inout MetricsText, _ slots: [Int]) {
        text.family("workerman_tick_duration_seconds", "histogram", "Busy time of event loop ticks (end of poll to end of tick).")
        for index in slots {
            let record = board.slot(index).pointee
            let histogram = record.activity.tickHistogram
            var cumulative: UInt64 = 0
            for bucket in 0..<TickHistogram.bucketTotal {
                cumulative &+= histogram.bucketCount(bucket)
                text.append("workerman_tick_duration_seconds_bucket{")
                labels(&text, record)
                text.append(",le=\"")
                text.append(Self.bucketLabels[bucket])
                text.append("\"} ")
                text.append(cumulative)
                text.append("\n")
            }
            text.append("workerman_tick_duration_seconds_sum{")
            labels(&text, record)
            text.append("} ")
            text.appendSeconds(nanoseconds: histogram.sumNanoseconds)
            text.append("\nworkerman_tick_duration_seconds_count{")
            labels(&text, record)
            text.append("} ")
            text.append(cumulative)
            text.append("\n")
        }
    }

    /// Per worker: running processes, exits by wait status, restarts.
    private func workerFamilies(_ text: inout MetricsText) {
        let workers = min(board.workerCount, workerLabels.count)
        text.family("workerman_processes", "gauge", "Running processes of the worker.")
        for worker in 0..<workers {
            var running = 0
            for index in 0..<board.slotCount {
                let record = board.slot(index).pointee
                if record.state == SlotRecord.running && Int(record.workerIndex) == worker { running += 1 }
            }
            text.append("workerman_processes{")
            text.append(bytes: workerLabels[worker])
            text.append("} ")
            text.append(running)
            text.append("\n")
        }
        text.family("workerman_exits_total", "counter", "Exits of the worker's processes, by wait status (0 is a clean exit).")
        for worker in 0..<workers {
            var record = board.exits(worker).pointee
            let used = Int(record.used)
            withUnsafeBytes(of: &record.statuses) { statuses in
                withUnsafeBytes(of: &record.counts) { counts in
                    for entry in 0..<used {
                        text.append("workerman_exits_total{")
                        text.append(bytes: workerLabels[worker])
                        text.append(",status=\"")
                        text.append(Int(statuses.load(fromByteOffset: entry * 4, as: Int32.self)))
                        text.append("\"} ")
                        text.append(Int(counts.load(fromByteOffset: entry * 8, as: Int64.self)))
                        text.append("\n")
                    }
                }
            }
        }
        text.family("workerman_recycles_total", "counter", "Processes replaced after maxRequests or maxMemory.")
        for worker in 0..<workers {
            text.append("workerman_recycles_total{")
            text.append(bytes: workerLabels[worker])
            text.append("} ")
            text.append(Int(board.exits(worker).pointee.recycles))
            text.append("\n")
        }
        text.family("workerman_restarts_total", "counter", "Processes started again after they died.")
        for worker in 0..<workers {
            text.append("workerman_restarts_total{")
            text.append(bytes: workerLabels[worker])
            text.append("} ")
            text.append(Int(board.exits(worker).pointee.restarts))
            text.append("\n")
        }
    }
}
