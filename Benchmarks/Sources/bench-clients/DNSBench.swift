import Foundation
import WorkermanEventLoop
import WorkermanTransport

/// Our resolver: `count` distinct names under bench.test, `concurrency` in flight, against the server
/// on 127.0.0.1:`port`. Lookups per second, the longest the loop went without running a 1 ms timer, and
/// the longest tick the loop's own histogram saw (its bucket's upper bound): both stay near a
/// millisecond when nothing blocks the loop.
func oursDNS(port: Int, count: Int, concurrency: Int) throws -> (rate: Double, maxTickGap: Double, maxTick: Double) {
    let loop = try EventLoop()
    var configuration = ResolverConfiguration()
    configuration.nameservers = [try SocketAddress(ip: "127.0.0.1", port: port)]
    configuration.timeout = 2
    // Nothing from the files: the same work as getaddrinfo's for a name that /etc/hosts does not list,
    // minus its read of that file per call (which is part of what it costs).
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
    let ticksBefore = loop.tickHistogram
    let start = MonotonicClock.now()
    for _ in 0..<concurrency { issue() }
    try loop.run(.untilStopped)
    let elapsed = Double(MonotonicClock.now() - start) / 1e9
    let longest = longestTick(since: ticksBefore, now: loop.tickHistogram)
    loop.cancelTimer(ticker)
    loop.close()
    if failed > 0 { print("  ours: \(failed) lookups failed") }
    return (Double(count) / elapsed, Double(maxGap) / 1e9, longest)
}

/// The upper bound, in seconds, of the highest tick-histogram bucket that gained a tick.
func longestTick(since before: TickHistogram, now after: TickHistogram) -> Double {
    var longest = 0.0
    for index in 0..<TickHistogram.bucketTotal where after.bucketCount(index) > before.bucketCount(index) {
        longest = index < TickHistogram.upperBounds.count ? Double(TickHistogram.upperBounds[index]) / 1e9 : .infinity
    }
    return longest
}

/// The path `DNSResolver.Mode.system` takes (and every client took before the resolver): per lookup, a
/// new detached thread runs `getaddrinfo` (AF_UNSPEC: A and AAAA, as ours) and hands the answer back to
/// the loop, `concurrency` in flight over distinct names. Runs in a child process whose mount
/// namespace sees a resolv.conf naming 127.0.0.1 (glibc cannot be pointed at another port), see
/// `main.swift`. glibc caches nothing here (no nscd): every lookup is a query, as ours.
func getaddrinfoLookups(count: Int, concurrency: Int) throws -> Double {
    let loop = try EventLoop()
    let run = GetaddrinfoRun(count: count, handle: loop.handle)
    let start = MonotonicClock.now()
    for _ in 0..<concurrency { run.issue() }
    try loop.run(.untilStopped)
    let elapsed = Double(MonotonicClock.now() - start) / 1e9
    loop.close()
    if run.failed > 0 { print("  getaddrinfo: \(run.failed) lookups failed") }
    return Double(count) / elapsed
}

/// The counters of a getaddrinfo run.
final class GetaddrinfoRun: @unchecked Sendable {  // safe: the counters are touched on the loop thread only (in handle jobs, and before run)
    let count: Int
    let handle: EventLoopHandle
    var next = 0
    var done = 0
    var failed = 0

    init(count: Int, handle: EventLoopHandle) {
        self.count = count
        self.handle = handle
    }

    /// Starts the next lookup on a thread of its own; its answer comes back as a loop job.
    func issue() {
        guard next < count else { return }
        let name = "g\(next).bench.test"
        next += 1
        Thread.detachNewThread { [self] in
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let found = getaddrinfo(name, "80", &hints, &list) == 0
            if found { freeaddrinfo(list) }
            _ = handle.execute { loop in
                if !found { self.failed += 1 }
                self.done += 1
                if self.done == self.count { loop.stop() } else { self.issue() }
            }
        }
    }
}
