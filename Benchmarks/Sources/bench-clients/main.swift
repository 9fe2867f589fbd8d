// bench-clients: our HTTP, Redis and DNS clients against their peers, in one run, ending with one line:
//
//   http ours/ahc=… ours/wrk=… redis ours/rb=… pipelined ours/rb=… dns ours/gai=…
//
//   swift build -c release --product bench-clients && .build/release/bench-clients [--seconds S]
//
// - http: 100 requests in flight over keep-alive to a local nginx (pinned to CPU 0; this process to CPU 1)
//   for S seconds: ours, AsyncHTTPClient (one event loop), and wrk -t1 -c100 (the C ceiling).
// - redis: 50 connections doing SET/GET, unpipelined and in pipelines of 16, against redis-benchmark
//   -c 50 (-P 16) on the same server.
// - dns: 10,000 distinct names (A and AAAA each) against dnsmasq on 127.0.0.1:53, 100 at a time: our
//   resolver, and getaddrinfo on a thread per lookup with the answer handed back to a loop (the
//   `.system` path), in a child process whose own mount namespace gives it a resolv.conf naming
//   127.0.0.1 (needs root and unshare, else n/a). Also the longest gap of a 1 ms timer while ours ran,
//   and the longest loop tick (histogram bucket). `--dns-only` runs this part alone.
// Each peer runs only if installed; a missing one prints n/a.
import Foundation

/// Unbuffered, so a run cut short still shows how far it got.
func print(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

let arguments = CommandLine.arguments
if arguments.count == 4, arguments[1] == "gai-child" {
    print(try getaddrinfoLookups(count: Int(arguments[2])!, concurrency: Int(arguments[3])!))
    exit(0)
}
// `dns-ours COUNT CONCURRENCY PORT`: our resolver alone against a server already on 127.0.0.1:PORT, for
// a bounded run under callgrind (instructions per lookup: the difference of two counts over the
// difference of the lookups).
if arguments.count == 5, arguments[1] == "dns-ours" {
    let result = try oursDNS(port: Int(arguments[4])!, count: Int(arguments[2])!, concurrency: Int(arguments[3])!)
    print(String(format: "%.0f lookups/s, longest tick <= %.1f ms", result.rate, result.maxTick * 1000))
    exit(0)
}
var seconds = 5.0
if let index = arguments.firstIndex(of: "--seconds"), index + 1 < arguments.count { seconds = Double(arguments[index + 1]) ?? seconds }
let skipAHC = arguments.contains("--no-ahc")
// `--dns-only`: skip the HTTP and Redis parts (a quick look at the resolver).
let dnsOnly = arguments.contains("--dns-only")

func ratio(_ ours: Double?, _ theirs: Double?) -> String {
    guard let ours, let theirs, theirs > 0 else { return "n/a" }
    return String(format: "%.2f", ours / theirs)
}
func rate(_ value: Double?) -> String { value.map { String(format: "%.0f/s", $0) } ?? "n/a" }

// MARK: - HTTP

var http: (ours: Double?, ahc: Double?, wrk: Double?) = (nil, nil, nil)
let nginxPort = freePort()
if !dnsOnly, let nginx = try startNginx(port: nginxPort) {
    pinToSecondCPU()
    let url = "http://127.0.0.1:\(nginxPort)/index.html"
    http.ours = try oursHTTP(url: url, concurrency: 100, seconds: seconds)
    if !skipAHC { http.ahc = try asyncHTTPClient(url: url, concurrency: 100, seconds: seconds) }
    http.wrk = wrk(url: url, concurrency: 100, seconds: seconds)
    nginx.stop()
    print("http: ours \(rate(http.ours)), AsyncHTTPClient \(rate(http.ahc)), wrk \(rate(http.wrk))")
} else if !dnsOnly {
    print("http: nginx not available")
}

// MARK: - Redis

var redis: (ours: Double?, rb: Double?, oursP: Double?, rbP: Double?) = (nil, nil, nil, nil)
if !dnsOnly, let binary = which("redis-server") {
    let port = freePort()
    let directory = temporaryDirectory("bench-redis")
    let server = try ChildServer(["taskset", "-c", "0", binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                  "--dir", directory], directory: directory)
    if waitForTCP(port) {
        redis.ours = try oursRedis(port: port, connections: 50, depth: 1, seconds: seconds)
        redis.rb = redisBenchmark(port: port, connections: 50, depth: 1, requests: max(10_000, Int((redis.ours ?? 50_000) * seconds)))
        redis.oursP = try oursRedis(port: port, connections: 50, depth: 16, seconds: seconds)
        redis.rbP = redisBenchmark(port: port, connections: 50, depth: 16, requests: max(10_000, Int((redis.oursP ?? 200_000) * seconds)))
    }
    server.stop()
    print("redis: ours \(rate(redis.ours)), redis-benchmark \(rate(redis.rb)); pipelined 16: ours \(rate(redis.oursP)), redis-benchmark \(rate(redis.rbP))")
}

// MARK: - DNS

var dns: (ours: Double?, gai: Double?) = (nil, nil)
if let dnsmasq = which("dnsmasq") {
    pinToSecondCPU()  // dnsmasq on CPU 0, both clients (ours, and the getaddrinfo child, which inherits it) on CPU 1
    let directory = temporaryDirectory("bench-dns")
    let server = try ChildServer(["taskset", "-c", "0", dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=53",
                                  "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--pid-file=",
                                  // Every name has an A and an AAAA record (an AAAA-less name was REFUSED, and each side
                                  // retried it its own way), with a TTL as a real server gives (dnsmasq's default
                                  // for these is 0, which no cache keeps): our cache fills and evicts as it would in
                                  // use; glibc has none. The names are all distinct, so no answer comes from a cache
                                  // on either side, and dnsmasq answers them itself (it caches nothing of its own
                                  // records).
                                  "--address=/bench.test/127.0.0.1", "--address=/bench.test/::1", "--local-ttl=300",
                                  "--cache-size=10000", "--dns-forward-max=1000"], directory: directory)
    usleep(300_000)
    let count = 10_000
    print("dns: \(count) lookups through our resolver…")
    if let result = try? oursDNS(port: 53, count: count, concurrency: 100) {
        dns.ours = result.rate
        print(String(format: "dns: ours %.0f/s, longest 1 ms timer gap %.1f ms, longest loop tick <= %.1f ms", result.rate,
                     result.maxTickGap * 1000, result.maxTick * 1000))
    }
    if getuid() == 0, which("unshare") != nil {
        let resolv = "\(directory)/resolv.conf"
        try "nameserver 127.0.0.1\noptions attempts:2 timeout:2\n".write(toFile: resolv, atomically: true, encoding: .utf8)
        let me = Bundle.main.executablePath ?? arguments[0]
        let output = capture(["unshare", "-m", "sh", "-c", "mount --bind \(resolv) /etc/resolv.conf && exec \(me) gai-child \(count) 100"])
        // The rate is the child's last line (a line about failed lookups may come first).
        for line in output.split(separator: "\n") where !line.hasPrefix(" ") { dns.gai = Double(line) }
        if dns.gai == nil { print("  getaddrinfo child said: \(output.prefix(200))") }
        print("dns: getaddrinfo on a thread per lookup \(rate(dns.gai))")
    }
    server.stop()
}

print("http ours/ahc=\(ratio(http.ours, http.ahc)) ours/wrk=\(ratio(http.ours, http.wrk)) redis ours/rb=\(ratio(redis.ours, redis.rb)) "
    + "pipelined ours/rb=\(ratio(redis.oursP, redis.rbP)) dns ours/gai=\(ratio(dns.ours, dns.gai))")
exit(0)  // whatever Foundation still holds (process monitors), the run is over
