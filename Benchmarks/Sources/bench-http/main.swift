// bench-http: the hello-world server ../shared/bench/anchors.sh measures as `ours-N`, written with the
// normal API: an `http://` Worker answering every request with "Hello World" (byte-identical to
// Workerman's `$connection->send('Hello World')`), `count` processes under our own supervisor.
//
//   bench-http --port P --count N        (foreground; SIGINT stops it)
import Workerman

#if canImport(Glibc)
import Glibc
#endif

var port = 8080
var count = 1
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--count": count = Int(arguments.next() ?? "") ?? count
    default: break  // a child sees its parent's flags again; unknown ones are not ours to refuse
    }
}

let http = try Worker(http: "127.0.0.1:\(port)")
http.name = "bench-http"
http.count = count
http.onMessage = { connection, request in
    connection.send("Hello World")
}
Worker.runAll(arguments: ["start"])
