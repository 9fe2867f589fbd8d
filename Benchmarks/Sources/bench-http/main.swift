// bench-http: the hello-world server ../shared/bench/anchors.sh measures as `ours-N`, written with the
// normal API: an `http://` Worker answering every request with "Hello World" (byte-identical to
// Workerman's `$connection->send('Hello World')`), `count` processes under our own supervisor.
//
//   bench-http --port P --count N               sync handler (foreground; SIGINT stops it)
//   bench-http --port P --count N --async       the same handler written `async` (onMessageAsync), which
//                                               never suspends: the cost of the async machinery alone
//   bench-http --port P --count N --async-hop   an async handler that awaits one loop hop (a value
//                                               completed by a next-tick job) before it answers
//   … [--metrics ADDR] [--tls-cert FILE --tls-key FILE] [--count-allocations]
//
// --count-allocations makes each worker process print, every second it served requests, the heap
// allocations per request over that second (a malloc counter linked into this executable), e.g.
// `bench-http[1234] 41230 requests, 3.00 allocations per request`.
//
// --metrics 127.0.0.1:9100 turns on the master's metrics listener, to measure what metrics cost the
// hot path (compare wrk throughput with and without, and time `curl ADDR/metrics`).
// With a certificate and key it serves HTTPS (TLS 1.2/1.3, the library's defaults), for tls-compare.sh.
import BenchAllocations
import Workerman
import WorkermanTLS

#if canImport(Glibc)
import Glibc
#endif

enum Mode { case sync, async, asyncHop }

/// Requests this process answered (each worker process runs one loop thread, the only one touching it).
nonisolated(unsafe) var requestsServed = 0  // safe: read and written on the worker's loop thread only


var port = 8080
var count = 1
var metrics: String?
var certificate: String?
var key: String?
var mode = Mode.sync
var countAllocations = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--count": count = Int(arguments.next() ?? "") ?? count
    case "--metrics": metrics = arguments.next()
    case "--tls-cert": certificate = arguments.next()
    case "--tls-key": key = arguments.next()
    case "--async": mode = .async
    case "--async-hop": mode = .asyncHop
    case "--count-allocations": countAllocations = true
    default: break  // a child sees its parent's flags again; unknown ones are not ours to refuse
    }
}

if let metrics { Worker.settings.metricsAddress = metrics }
let http: Worker<HTTPServerCodec>
if let certificate, let key {
    http = try Worker(http: "127.0.0.1:\(port)", tls: TLSServerConfiguration(certificateChain: certificate, privateKey: key))
} else {
    http = try Worker(http: "127.0.0.1:\(port)")
}
http.name = "bench-http"
http.count = count
setHandler(on: http, mode)
if countAllocations { reportAllocations(of: http) }

/// Sets the handler. A function, not top-level code: a closure written at the top level of main.swift is
/// isolated to the main actor, and an async one would wait for the main actor, which never runs inside a
/// worker process (its loop owns the main thread). See the README's async/await section.
nonisolated func setHandler(on http: Worker<HTTPServerCodec>, _ mode: Mode) {
    switch mode {
    case .sync:
        http.onMessage = { connection, request in
            requestsServed &+= 1
            connection.send("Hello World")
        }
    case .async:
        http.onMessageAsync = { connection, request in
            requestsServed &+= 1
            connection.send("Hello World")
        }
    case .asyncHop:
        http.onMessageAsync = { connection, request in
            requestsServed &+= 1
            let loop = connection.loop
            let body: String = try await loop.withCompletion { completion in
                loop.nextTick { completion.succeed("Hello World") }
            }
            connection.send(.response(HTTPResponse(body: .text(body))))
        }
    }
}

/// Prints the allocations per request of each second that served requests (`--count-allocations`).
nonisolated func reportAllocations(of http: Worker<HTTPServerCodec>) {
    http.onWorkerStart = { worker in
        guard let loop = worker.loop else { return }
        bench_allocations_count(true)
        var lastAllocations = bench_allocations_total()
        var lastRequests = requestsServed
        try loop.addTimer(every: 1) {
            let allocations = bench_allocations_total()
            let requests = requestsServed - lastRequests
            if requests > 0 {
                let perRequest = Double(allocations - lastAllocations) / Double(requests)
                let line = "bench-http[\(getpid())] \(requests) requests, \(perRequest.formatted2) allocations per request\n"
                _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
            }
            // Read after printing, so the report's own allocations are not charged to the next second.
            lastAllocations = bench_allocations_total()
            lastRequests = requestsServed
        }
    }
}

extension Double {
    /// Two decimals, without Foundation.
    var formatted2: String {
        let hundredths = Int((self * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

Worker.runAll(arguments: ["start"])
