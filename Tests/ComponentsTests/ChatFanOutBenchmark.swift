// The demo chat's fan-out, measured: one client's messages to N clients in one room, with the chat in
// 4 processes (the message crosses the Channel server to each) against 1. Off unless asked for:
//
//   CHAT_FANOUT_CLIENTS=1000 swift test -c release -Xswiftc -enable-testing --filter ChatFanOutBenchmark
//
// (release: the clients run on the test's loop, and a debug client would measure itself.)

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// What every client received of the sender's timestamped messages.
private final class Deliveries {
    var latencies: [UInt64] = []
    var last: UInt64 = 0
    /// Joins seen by their own clients.
    var joined = 0

    func reset() {
        latencies.removeAll(keepingCapacity: true)
        last = 0
    }

    /// "p50 … ms, p99 … ms".
    var summary: String {
        let sorted = latencies.sorted()
        func at(_ fraction: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            let value = Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1e6
            return String(Int((value * 100).rounded())).inserting(dot: 2) + " ms"
        }
        return "p50 \(at(0.5)), p99 \(at(0.99))"
    }
}

extension String {
    /// "1234" → "12.34" for `dot` 2 (no Foundation formatting in tests).
    fileprivate func inserting(dot digits: Int) -> String {
        let padded = String(repeating: "0", count: max(0, digits + 1 - count)) + self
        return padded.dropLast(digits) + "." + padded.suffix(digits)
    }
}

/// A client that only counts: its own join, and the sender's messages with their latency.
private final class CountingClient {
    let connection: TCPClient<WebSocketClientCodec>

    init(_ loop: EventLoop, port: Int, name: String, into deliveries: Deliveries) throws {
        connection = try TCPClient<WebSocketClientCodec>(loop: loop, url: "ws://127.0.0.1:\(port)/?name=\(name)&room=bench")
        let ownJoin = "* \(name) joined bench"
        connection.onMessage = { _, message in
            let text = message.text
            // "[bench] c0: t=<ns sent>"
            if text.hasPrefix("[bench] c0: t="), let sent = UInt64(text.dropFirst(14)) {
                let now = MonotonicClock.now()
                deliveries.latencies.append(now &- sent)
                deliveries.last = now
            } else if text == ownJoin {
                deliveries.joined += 1
            }
        }
        connection.connect()
    }

    func send(_ text: String) { connection.send(.text(text)) }
}

@Suite(
    "The demo chat's fan-out, measured",
    .serialized,
    .enabled(if: getenv("CHAT_FANOUT_CLIENTS") != nil, "a benchmark, run on request: CHAT_FANOUT_CLIENTS=1000 swift test -c release -Xswiftc -enable-testing --filter ChatFanOutBenchmark")
)
struct ChatFanOutBenchmark {
    @Test("one sender to N clients in one room: 4 chat processes against 1", .timeLimit(.minutes(10)))
    func fanOut() throws {
        let clients = getenv("CHAT_FANOUT_CLIENTS").flatMap { Int(String(cString: $0)) } ?? 1000
        var report: [String] = []
        for processes in [4, 1] {
            let measured = try measure(processes: processes, clients: clients)
            report.append("\(processes) chat process\(processes == 1 ? "" : "es"), \(clients) clients: \(measured)")
        }
        print(report.joined(separator: "\n"))
    }

    private func measure(processes: Int, clients: Int) throws -> String {
        let burst = 100
        let demo = try ChatDemo(chatCount: processes, extra: ["CHAT_BURST": "1000000", "CHAT_RATE": "1000000", "CHAT_HISTORY": "1"])
        defer { demo.stop() }
        let testLoop = try TestLoop()
        let deliveries = Deliveries()
        let peers = try (0..<clients).map { try CountingClient(testLoop.loop, port: demo.chatPort, name: "c\($0)", into: deliveries) }
        try testLoop.run(until: "\(clients) joins (\(deliveries.joined))", seconds: 120) { deliveries.joined == clients }
        let sender = peers[0]
        // One message through first: it queues behind the tail of the million join notices, so once it
        // reached everyone, the measurement starts on a quiet chat.
        sender.send("t=\(MonotonicClock.now())")
        try testLoop.run(until: "the first message everywhere", seconds: 60) { deliveries.latencies.count == clients }
        deliveries.reset()

        // Paced: one message every 20 ms, so each fan-out finishes before the next (latency unloaded).
        var paced = 0
        let pacer = try testLoop.loop.addTimer(every: 0.02) {
            guard paced < 50 else { return }
            paced += 1
            sender.send("t=\(MonotonicClock.now())")
        }
        try testLoop.run(until: "the paced messages everywhere", seconds: 60) { deliveries.latencies.count == 50 * clients }
        testLoop.loop.cancelTimer(pacer)
        let pacedSummary = deliveries.summary

        // A burst: `burst` messages at once; deliveries per second until the last one arrived.
        deliveries.reset()
        let start = MonotonicClock.now()
        for _ in 0..<burst { sender.send("t=\(MonotonicClock.now())") }
        try testLoop.run(until: "the burst everywhere (\(deliveries.latencies.count))", seconds: 120) {
            deliveries.latencies.count == burst * clients
        }
        let seconds = Double(deliveries.last - start) / 1e9
        let rate = Int(Double(burst * clients) / seconds)
        return "paced 50 msgs: \(pacedSummary); burst of \(burst): \(rate) deliveries/s, \(deliveries.summary)"
    }
}
