import BenchSupport
import Workerman

#if canImport(Glibc)
import Glibc
#endif

/// Starts the brokers and the subscriber, publishes, and prints the table.
struct Orchestrator {
    let options: Options

    struct Result {
        var delivered = 0
        var published = 0
        var seconds = 0.0
        var p50 = 0.0
        var p99 = 0.0
        var max = 0.0
    }

    func run() {
        let directory = temporaryDirectory()
        defer { _ = system("rm -rf '\(directory)'") }
        print("# bench-channel: \(nproc()) cores; throughput: \(options.count) messages; latency: \(options.rate)/s for \(options.seconds) s; payload \(options.payload) bytes")
        var rows: [(String, String)] = []

        let port = freePort()
        let server = launch([executable(), "server", String(port), directory], output: "\(directory)/server.out")
        waitForPort(port)
        rows += measure("own Channel server", backend: "server:127.0.0.1:\(port)", directory: directory)
        stop(server)

        if options.skipRedis {
            rows.append(("redis", "skipped (--no-redis)"))
        } else if let redisServer = which("redis-server") {
            let redisPort = freePort()
            let redis = launch(
                [redisServer, "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory],
                output: "\(directory)/redis.out"
            )
            waitForPort(redisPort)
            rows += measure("Redis pub/sub", backend: "redis:127.0.0.1:\(redisPort)", directory: directory)
            if let benchmark = which("redis-benchmark") {
                // Redis 7's redis-benchmark has no `-t publish` test: the command given explicitly is the same
                // measurement (PUBLISH to a channel, 50 clients), with a payload of our size.
                let payload = String(repeating: "x", count: options.payload)
                for pipeline in [1, 16] {
                    let output = "\(directory)/redis-benchmark-\(pipeline).out"
                    let pid = launch(
                        [benchmark, "-p", String(redisPort), "-n", "200000", "-q", "-P", String(pipeline), "publish", "bench:ceiling", payload],
                        output: output
                    )
                    _ = waitExit(pid, seconds: 120)
                    let line = (readText(output) ?? "").split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last { $0.contains("requests per second") }
                    let figure = line.map { String($0[($0.lastIndex(of: ":").map { $0 } ?? $0.startIndex)...].dropFirst()).trimmingCharacters() }
                    rows.append(("redis-benchmark PUBLISH, 50 clients, -P \(pipeline)", figure ?? "no result"))
                }
            }
            stop(redis)
        } else {
            rows.append(("redis", "skipped: redis-server not installed"))
        }
        print("")
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows { print(name.padding(to: width) + "  " + value) }
    }

    /// Both phases against one broker, with a fresh subscriber process.
    private func measure(_ name: String, backend: String, directory: String) -> [(String, String)] {
        let subscriber = launch([executable(), "subscribe", backend], output: "\(directory)/subscriber.out")
        defer { stop(subscriber) }
        do {
            let publisher = try Publisher(backend: backendKind(backend), options: options)
            let throughput = try publisher.throughput()
            let latency = try publisher.latency()
            publisher.quit()
            return [
                ("\(name): throughput", "\(Int(Double(throughput.delivered) / throughput.seconds)) msg/s (\(throughput.delivered)/\(throughput.published) delivered in \(format(throughput.seconds)) s, p99 \(format(throughput.p99)) ms under load)"),
                ("\(name): latency at \(options.rate)/s", "p50 \(format(latency.p50)) ms, p99 \(format(latency.p99)) ms, max \(format(latency.max)) ms (\(latency.delivered)/\(latency.published) delivered)"),
            ]
        } catch {
            return [(name, "failed: \(error)")]
        }
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}

// MARK: - The publishing side

final class Publisher {
    let loop: EventLoop
    let client: ChannelClient
    let options: Options
    private var results: [PHPValue] = []
    private var ready = false
    private let filler: PHPValue

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(backend: ChannelBackendKind, options: Options) throws {
        self.options = options
        loop = try EventLoop()
        var configuration = ChannelClient.Configuration(backend: backend)
        configuration.reconnectInterval = 0.1
        configuration.maxPendingMessages = 1 << 20
        client = ChannelClient(loop: loop, configuration: configuration)
        filler = PHPValue(String(repeating: "x", count: max(0, options.payload - 40)))
        client.on("result") { [unowned self] in self.results.append($0) }
        client.on("ready") { [unowned self] _ in self.ready = true }
        client.connect()
        var lastProbe: UInt64 = 0
        try run(until: "the subscriber", seconds: 30) {
            if !self.ready, self.client.isConnected, BenchClock.now() - lastProbe > 50_000_000 {
                lastProbe = BenchClock.now()
                self.client.publish("probe", true)
            }
            return self.ready
        }
    }

    private func message(_ index: Int) -> PHPValue {
        ["t": .int(Int(BenchClock.now())), "i": .int(index), "p": filler]
    }

    /// `count` messages as fast as the connection takes them.
    func throughput() throws -> Orchestrator.Result {
        var sent = 0
        let count = options.count
        try run(until: "publishing \(count)", seconds: 120) {
            while sent < count && self.client.pendingCount < 1000 {
                self.client.publish("bench", self.message(sent))
                sent += 1
            }
            return sent == count && self.client.pendingCount == 0
        }
        return try finish("throughput", published: count)
    }

    /// `rate` messages a second for `seconds`, a slice every millisecond.
    func latency() throws -> Orchestrator.Result {
        let total = Int(Double(options.rate) * options.seconds)
        let start = BenchClock.now()
        var sent = 0
        try run(until: "paced publishing", seconds: options.seconds + 60) {
            let due = min(total, Int(Double(BenchClock.now() - start) / 1e9 * Double(self.options.rate)))
            while sent < due {
                self.client.publish("bench", self.message(sent))
                sent += 1
            }
            return sent == total
        }
        return try finish("latency", published: total)
    }

    func quit() {
        client.publish("quit", true)
        try? run(until: "the quit to go out", seconds: 5) { self.client.pendingCount == 0 }
        try? run(until: "a moment", seconds: 0.2) { false }
    }

    private func finish(_ phase: String, published: Int) throws -> Orchestrator.Result {
        results.removeAll()
        client.publish("done", PHPValue(phase))
        try run(until: "the \(phase) result", seconds: 60) { !self.results.isEmpty }
        let result = results[0]
        func milliseconds(_ key: PHPKey) -> Double { Double(result[key]?.intValue ?? 0) / 1e6 }
        return Orchestrator.Result(
            delivered: result["count"]?.intValue ?? 0,
            published: published,
            seconds: Double((result["last"]?.intValue ?? 0) - (result["first"]?.intValue ?? 0)) / 1e9,
            p50: milliseconds("p50"),
            p99: milliseconds("p99"),
            max: milliseconds("max")
        )
    }

    /// Runs the loop, checking `condition` every millisecond, until it holds or `seconds` pass.
    private func run(until what: String, seconds: Double, _ condition: @escaping () -> Bool) throws {
        let deadline = Deadline(secondsFromNow: seconds)
        var timedOut = false
        let check = try loop.addTimer(every: 0.001) { [loop] in
            if condition() {
                loop.stop()
            } else if deadline.hasPassed {
                timedOut = true
                loop.stop()
            }
        }
        defer { loop.cancelTimer(check) }
        try loop.run(.untilStopped)
        if timedOut && seconds >= 1 { throw Failure(description: "timed out waiting for \(what)") }
    }
}
