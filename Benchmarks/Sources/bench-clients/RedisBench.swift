import Foundation
import WorkermanEventLoop
import WorkermanRedis

/// Our Redis client: `connections` clients doing SET then GET back to back, `depth` commands in flight
/// per client (1: unpipelined, 16: pipelines of 16), for `seconds`; commands per second.
func oursRedis(port: Int, connections: Int, depth: Int, seconds: Double) throws -> Double {
    let loop = try EventLoop()
    var clients: [RedisClient] = []
    for _ in 0..<connections {
        let client = try RedisClient(loop: loop, address: "127.0.0.1:\(port)")
        client.connect()
        clients.append(client)
    }
    // Connect first, outside the measured time.
    let connectGuard = try loop.addTimer(every: 0.001) { if clients.allSatisfy(\.isConnected) { loop.stop() } }
    try loop.run(.untilStopped)
    loop.cancelTimer(connectGuard)
    var completed = 0
    var running = true
    let value = RedisArgument(String(repeating: "v", count: 3))
    func issue(_ client: RedisClient, _ index: Int) {
        if depth == 1 {
            let command = index % 2 == 0 ? RedisCommand("SET", RedisArgument("key:\(index % 1000)"), value) : RedisCommand("GET", RedisArgument("key:\(index % 1000)"))
            client.send(command) { _ in
                completed += 1
                if running { issue(client, index + 1) }
            }
        } else {
            let batch = (0..<depth).map { offset in
                (index + offset) % 2 == 0 ? RedisCommand("SET", RedisArgument("key:\(offset)"), value) : RedisCommand("GET", RedisArgument("key:\(offset)"))
            }
            client.pipeline(batch) { replies in
                completed += replies.count
                if running { issue(client, index + depth) }
            }
        }
    }
    let start = MonotonicClock.now()
    for client in clients { issue(client, 0) }
    _ = try loop.addTimer(after: seconds) {
        running = false
        loop.stop()
    }
    try loop.run(.untilStopped)
    let elapsed = Double(MonotonicClock.now() - start) / 1e9
    for client in clients { client.close() }
    loop.close()
    return Double(completed) / elapsed
}

/// `redis-benchmark -t set,get` with the same connections and pipeline depth: the mean of SET and GET.
func redisBenchmark(port: Int, connections: Int, depth: Int, requests: Int) -> Double? {
    guard which("redis-benchmark") != nil else { return nil }
    let output = capture(["redis-benchmark", "-p", String(port), "-c", String(connections), "-n", String(requests), "-P", String(depth),
                          "-t", "set,get", "--csv"])
    let rates = output.split(separator: "\n").compactMap { line -> Double? in
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        guard fields.count >= 2, fields[0] == "SET" || fields[0] == "GET" else { return nil }
        return Double(fields[1])
    }
    return rates.isEmpty ? nil : rates.reduce(0, +) / Double(rates.count)
}
