// bench-http: the hello-world server ../shared/bench/anchors.sh measures as `ours-N`, written with the
// normal API: an `http://` Worker answering every request with "Hello World" (byte-identical to
// Workerman's `$connection->send('Hello World')`), `count` processes under our own supervisor.
//
//   bench-http --port P --count N [--metrics ADDR] [--tls-cert FILE --tls-key FILE]   (foreground; SIGINT stops it)
//
// --metrics 127.0.0.1:9100 turns on the master's metrics listener, to measure what metrics cost the
// hot path (compare wrk throughput with and without, and time `curl ADDR/metrics`).
// With a certificate and key it serves HTTPS (TLS 1.2/1.3, the library's defaults), for tls-compare.sh.
import Workerman
import WorkermanTLS

#if canImport(Glibc)
import Glibc
#endif

var port = 8080
var count = 1
var metrics: String?
var certificate: String?
var key: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--count": count = Int(arguments.next() ?? "") ?? count
    case "--metrics": metrics = arguments.next()
    case "--tls-cert": certificate = arguments.next()
    case "--tls-key": key = arguments.next()
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
http.onMessage = { connection, request in
    connection.send("Hello World")
}
Worker.runAll(arguments: ["start"])
