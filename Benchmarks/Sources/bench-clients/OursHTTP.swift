import WorkermanEventLoop
import WorkermanHTTPClient

/// Our client: `concurrency` requests in flight on one loop for `seconds`; requests per second.
func oursHTTP(url: String, concurrency: Int, seconds: Double) throws -> Double {
    let loop = try EventLoop()
    var configuration = HTTPClientConfiguration()
    configuration.maxConnectionsPerOrigin = concurrency
    configuration.decompress = false
    let client = HTTPClient(loop: loop, configuration: configuration)
    var completed = 0
    var failed = 0
    var running = true
    let start = MonotonicClock.now()
    func issue() {
        client.get(url) { result in
            if case .success = result { completed += 1 } else if running { failed += 1 }  // not the ones close() cancels
            if running { issue() }
        }
    }
    for _ in 0..<concurrency { issue() }
    _ = try loop.addTimer(after: seconds) {
        running = false
        loop.stop()
    }
    try loop.run(.untilStopped)
    let elapsed = Double(MonotonicClock.now() - start) / 1e9
    client.close()
    loop.close()
    if failed > 0 { print("  ours: \(failed) requests failed") }
    return Double(completed) / elapsed
}
