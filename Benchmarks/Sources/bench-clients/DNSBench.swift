import Foundation
import WorkermanEventLoop
import WorkermanTransport

/// Our resolver: `count` distinct names under bench.test, `concurrency` in flight, against the server
/// on 127.0.0.1:`port`. Lookups per second, and the longest the loop went without running a 1 ms timer
/// (the loop never blocks: this stays near the timer's period).
func oursDNS(port: Int, count: Int, concurrency: Int) throws -> (rate: Double, maxTickGap: Double) {
    let loop = try EventLoop()
    var configuration = ResolverConfiguration()
    configuration.nameservers = [try SocketAddress(ip: "127.0.0.1", port: port)]
    configuration.timeout = 2
    let resolver = DNSResolver(loop: loop, configuration: configuration, hosts: HostsFile())
    var next = 0
    var done = 0
    var failed = 0
    var lastTick = MonotonicClock.now()
    var maxGap: UInt64 = 0
    let ticker = try loop.addTimer(every: 0.001) {
        let now = MonotonicClock.now()
        maxGap = max(maxGap, now - lastTick)
        lastTick = now
    }
    func issue() {
        guard next < count else { return }
        let name = "n\(next).bench.test"
        next += 1
        resolver.resolve(name) { result in
            if case .failure = result { failed += 1 }
            done += 1
            if done == count { loop.stop() } else { issue() }
        }
    }
    let start = MonotonicClock.now()
    for _ in 0..<concurrency { issue() }
    try loop.run(.untilStopped)
    let elapsed = Double(MonotonicClock.now() - start) / 1e9
    loop.cancelTimer(ticker)
    loop.close()
    if failed > 0 { print("  ours: \(failed) lookups failed") }
    return (Double(count) / elapsed, Double(maxGap) / 1e9)
}

/// `getaddrinfo` on a thread per lookup (what `DNSResolver.Mode.system` does), `concurrency` at a time,
/// over distinct names: run in a child process whose mount namespace sees a resolv.conf naming
/// 127.0.0.1 (glibc cannot be pointed at another port), see `main.swift`.
func getaddrinfoLookups(count: Int, concurrency: Int) -> Double {
    let work = LookupWork(count: count)
    let start = Date()
    let finished = DispatchGroup()
    for _ in 0..<concurrency {
        finished.enter()
        Thread.detachNewThread {
            while let index = work.take() {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                if getaddrinfo("g\(index).bench.test", "80", &hints, &list) == 0 { freeaddrinfo(list) } else { work.fail() }
            }
            finished.leave()
        }
    }
    finished.wait()
    if work.failed > 0 { print("  getaddrinfo: \(work.failed) lookups failed") }
    return Double(count) / Date().timeIntervalSince(start)
}

/// The next name index for the lookup threads.
final class LookupWork: @unchecked Sendable {  // safe: every field is read and written under `lock`
    private let lock = NSLock()
    private let count: Int
    private var next = 0
    private var failures = 0

    init(count: Int) { self.count = count }

    func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    func fail() {
        lock.lock()
        failures += 1
        lock.unlock()
    }

    var failed: Int {
        lock.lock()
        defer { lock.unlock() }
        return failures
    }
}
