// bench-http: the hello-world server ../shared/bench/anchors.sh measures as `ours-N`, written with the
// normal API: an `http://` Worker answering every request with "Hello World" (byte-identical to
// Workerman's `$connection->send('Hello World')`), `count` processes under our own supervisor.
//
//   bench-http --port P --count N               sync handler (foreground; SIGINT stops it)
//   bench-http --port P --count N --async       the same handler written `async` (onMessageAsync), which
//                                               never suspends: the cost of the async machinery alone
//   bench-http --port P --count N --async-hop   an async handler that awaits one loop hop (a value
//                                               completed by a next-tick job) before it answers
//   … [--metrics ADDR] [--tls-cert FILE --tls-key FILE]
//
// --metrics 127.0.0.1:9100 turns on the master's metrics listener, to measure what metrics cost the
// hot path (compare wrk throughput with and without, and time `curl ADDR/metrics`).
// With a certificate and key it serves HTTPS (TLS 1.2/1.3, the library's defaults), for tls-compare.sh.
import Workerman
import WorkermanTLS

#if canImport(Glibc)
import Glibc
#endif

enum Mode { case sync, async, asyncHop }

var port = 8080
var count = 1
var metrics: String?
var certificate: String?
var key: String?
var mode = Mode.sync
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

/// Sets the handler. A function, not top-level code: a closure written at the top level of main.swift is
/// isolated to the main actor, and an async one would wait for the main actor, which never runs inside a
/// worker process (its loop owns the main thread). See the README's async/await section.
nonisolated func setHandler(on http: Worker<HTTPServerCodec>, _ mode: Mode) {
    switch mode {
    case .sync:
        http.onMessage = { connection, request in
            connection.send("Hello World")
        }
    case .async:
        http.onMessageAsync = { connection, request in
            connection.send("Hello World")
        }
    case .asyncHop:
        http.onMessageAsync = { connection, request in
            let loop = connection.loop
            let body: String = try await loop.withCompletion { completion in
                loop.nextTick { completion.succeed("Hello World") }
            }
            connection.send(.response(HTTPResponse(body: .text(body))))
        }
    }
}

Worker.runAll(arguments: ["start"])
