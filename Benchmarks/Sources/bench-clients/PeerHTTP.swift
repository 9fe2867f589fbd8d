import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// AsyncHTTPClient on one event loop with `concurrency` requests in flight for `seconds`.
func asyncHTTPClient(url: String, concurrency: Int, seconds: Double) throws -> Double {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
    let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
    let loop = group.next()
    let done = loop.makePromise(of: Void.self)
    let state = NIOLockedValueBox((completed: 0, running: true, active: concurrency))
    let start = Date()
    @Sendable func issue() {
        client.get(url: url).whenComplete { result in
            let again = state.withLockedValue { value -> Bool in
                if case .success = result { value.completed += 1 }
                if !value.running { value.active -= 1 }
                return value.running
            }
            if again { issue() } else if state.withLockedValue({ $0.active == 0 }) { done.succeed(()) }
        }
    }
    for _ in 0..<concurrency { issue() }
    loop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { state.withLockedValue { $0.running = false } }
    try done.futureResult.wait()
    let elapsed = Date().timeIntervalSince(start)
    try client.syncShutdown()
    try group.syncShutdownGracefully()
    return Double(state.withLockedValue { $0.completed }) / elapsed
}

/// wrk, the C ceiling: one thread, `concurrency` connections.
func wrk(url: String, concurrency: Int, seconds: Double) -> Double? {
    guard which("wrk") != nil else { return nil }
    let output = capture(["wrk", "-t1", "-c\(concurrency)", "-d\(max(1, Int(seconds)))s", url])
    guard let line = output.split(separator: "\n").first(where: { $0.contains("Requests/sec:") }) else {
        print("  wrk: no rate in its output: \(output.prefix(200))")
        return nil
    }
    return Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.map(String.init) ?? "")
}
