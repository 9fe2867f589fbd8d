// Push through Redis, measured: a Gateway in this process pushes to a group whose N clients are spread
// over the demo's 4 chat processes (another master, reached only through Redis pub/sub), against
// `redis-benchmark` PUBLISH on the same redis-server as the ceiling. Off unless asked for:
//
//   PUSH_BENCH_CLIENTS=1000 swift test -c release -Xswiftc -enable-testing --filter GatewayRedisBenchmark
//
// It prints paced latency (p50/p99 of 50 pushes 20 ms apart), a burst's deliveries per second, and
// redis-benchmark's PUBLISH requests per second.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

#if canImport(Glibc)
import Glibc
#endif

/// Latencies of the pushes every client received.
private final class PushDeliveries {
    var latencies: [UInt64] = []
    var last: UInt64 = 0
    var joined = 0

    func percentile(_ fraction: Double) -> String {
        let sorted = latencies.sorted()
        guard !sorted.isEmpty else { return "-" }
        let micros = sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))] / 1_000
        return "\(Double(micros) / 1_000) ms"
    }
}

private func pushClient(_ loop: EventLoop, port: Int, name: String, into deliveries: PushDeliveries) throws -> TCPClient<WebSocketClientCodec> {
    let client = try TCPClient<WebSocketClientCodec>(loop: loop, url: "ws://127.0.0.1:\(port)/?name=\(name)&room=bench")
    let ownJoin = "* \(name) joined bench"
    client.onMessage = { _, message in
        let text = message.text
        if text.hasPrefix("[push] t="), let sent = UInt64(text.dropFirst(9)) {
            let now = MonotonicClock.now()
            deliveries.latencies.append(now &- sent)
            deliveries.last = now
        } else if text == ownJoin {
            deliveries.joined += 1
        }
    }
    client.connect()
    return client
}

@Suite(
    "Push through Redis, measured",
    .serialized,
    .enabled(if: getenv("PUSH_BENCH_CLIENTS") != nil && RedisProcess.isInstalled, "a benchmark, run on request: PUSH_BENCH_CLIENTS=1000 swift test -c release -Xswiftc -enable-testing --filter GatewayRedisBenchmark (needs redis-server)")
)
struct GatewayRedisBenchmark {
    @Test("a group push to N clients on another master through Redis; redis-benchmark PUBLISH as the ceiling", .timeLimit(.minutes(10)))
    func pushThroughRedis() throws {
        let clients = getenv("PUSH_BENCH_CLIENTS").flatMap { Int(String(cString: $0)) } ?? 1000
        let burst = getenv("PUSH_BENCH_BURST").flatMap { Int(String(cString: $0)) } ?? 100
        let redis = try RedisProcess()
        defer { redis.stop() }
        let prefix = "bench\(getpid()):"
        let demo = try ChatDemo(chatCount: 4, extra: ["PUSH_REDIS": redis.address, "PUSH_PREFIX": prefix, "CHAT_HISTORY": "1"])
        defer { demo.stop() }
        let testLoop = try TestLoop()
        let deliveries = PushDeliveries()
        let peers = try (0..<clients).map { try pushClient(testLoop.loop, port: demo.chatPort, name: "p\($0)", into: deliveries) }
        try testLoop.run(until: "\(clients) joins (\(deliveries.joined))", seconds: 120) { deliveries.joined == clients }
        let gateway = Gateway(loop: testLoop.loop, backend: .redis(redis.address, prefix: prefix))
        defer {
            gateway.stop()
            gateway.channel.close()
        }
        var members = 0
        try testLoop.run(until: "the group complete in presence (\(members))", seconds: 30) {
            gateway.count(group: "bench") { members = $0 }
            return members == clients
        }

        // Paced: one push every 20 ms, each fan-out done before the next.
        var paced = 0
        let pacer = try testLoop.loop.addTimer(every: 0.02) {
            guard paced < 50 else { return }
            paced += 1
            gateway.send(toGroup: "bench", "t=\(MonotonicClock.now())")
        }
        try testLoop.run(until: "the paced pushes everywhere", seconds: 60) { deliveries.latencies.count == 50 * clients }
        _ = testLoop.loop.cancelTimer(pacer)
        let paced50 = "p50 \(deliveries.percentile(0.5)), p99 \(deliveries.percentile(0.99))"

        // A burst: deliveries per second until the last arrived.
        deliveries.latencies.removeAll()
        let start = MonotonicClock.now()
        for _ in 0..<burst { gateway.send(toGroup: "bench", "t=\(MonotonicClock.now())") }
        try testLoop.run(until: "the burst everywhere (\(deliveries.latencies.count))", seconds: 120) { deliveries.latencies.count == burst * clients }
        let rate = Int(Double(burst * clients) / (Double(deliveries.last - start) / 1e9))
        withExtendedLifetime(peers) {}

        // The ceiling: Redis's own PUBLISH rate on this machine, now.
        var ceiling = "redis-benchmark not installed"
        if let tool = findExecutable("redis-benchmark") {
            let output = "\(demo.program.directory)/redis-benchmark.txt"
            let requests = getenv("PUSH_BENCH_PUBLISHES").map { String(cString: $0) } ?? "100000"
            let pid = try spawn(tool, ["-p", "\(redis.port)", "-n", requests, "-c", "50", "-q", "publish", "bench-ceiling", "hello"], environment: [:], output: output)
            _ = reap(pid, seconds: 120)
            ceiling = (readFile(output) ?? "").split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last.map(String.init) ?? "no output"
        }
        print("""
            push through Redis, 1 gateway -> \(clients) clients on 4 chat processes of another master:
              paced 50 pushes: \(paced50)
              burst of \(burst): \(rate) deliveries/s, p50 \(deliveries.percentile(0.5)), p99 \(deliveries.percentile(0.99))
            redis-benchmark PUBLISH (50 connections): \(ceiling)
            """)
    }
}
