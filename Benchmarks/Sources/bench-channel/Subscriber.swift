import BenchSupport
import Workerman

/// The receiving process: records the latency of every message of a phase, and on the phase's `done`
/// publishes what it measured on `result`.
final class Subscriber {
    let loop: EventLoop
    let client: ChannelClient
    private var latencies: [UInt64] = []
    private var firstPublished: UInt64 = 0
    private var lastDelivered: UInt64 = 0

    init(backend: ChannelBackendKind) throws {
        loop = try EventLoop()
        var configuration = ChannelClient.Configuration(backend: backend)
        configuration.reconnectInterval = 0.1
        client = ChannelClient(loop: loop, configuration: configuration)
    }

    func run() throws {
        latencies.reserveCapacity(1 << 20)
        client.on("bench") { [unowned self] message in
            let now = BenchClock.now()
            let sent = UInt64(message["t"]?.intValue ?? 0)
            if self.latencies.isEmpty { self.firstPublished = sent }
            self.lastDelivered = now
            self.latencies.append(now &- sent)
        }
        client.on("probe") { [unowned self] _ in self.client.publish("ready", true) }
        client.on("done") { [unowned self] phase in self.report(phase) }
        client.on("quit") { [unowned self] _ in self.loop.stop() }
        client.connect()
        try loop.run(.untilStopped)
    }

    private func report(_ phase: PHPValue) {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Int { sorted.isEmpty ? 0 : Int(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) }
        client.publish(
            "result",
            [
                "phase": phase, "count": .int(sorted.count), "first": .int(Int(firstPublished)), "last": .int(Int(lastDelivered)),
                "p50": .int(percentile(0.50)), "p99": .int(percentile(0.99)), "max": .int(Int(sorted.last ?? 0)),
            ]
        )
        latencies.removeAll(keepingCapacity: true)
    }
}
