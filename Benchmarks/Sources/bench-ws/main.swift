// bench-ws: the WebSocket echo server ../shared/bench/anchors.sh measures as `oursws-1`: a
// `websocket://` Worker sending every message back with the same opcode.
//
//   bench-ws --port P [--count N] [--tls-cert FILE --tls-key FILE]   (foreground; SIGINT stops it)
//
// With a certificate and key it serves wss:// (for tls-compare.sh).
import Workerman
import WorkermanTLS

var port = 9001
var count = 1
var certificate: String?
var key: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--count": count = Int(arguments.next() ?? "") ?? count
    case "--tls-cert": certificate = arguments.next()
    case "--tls-key": key = arguments.next()
    default: break
    }
}

let ws: Worker<WebSocketServerCodec>
if let certificate, let key {
    ws = try Worker(websocket: "127.0.0.1:\(port)", tls: TLSServerConfiguration(certificateChain: certificate, privateKey: key))
} else {
    ws = try Worker(websocket: "127.0.0.1:\(port)")
}
ws.name = "bench-ws"
ws.count = count
ws.maxPackageSize = 64 * 1024 * 1024
ws.onMessage = { connection, message in connection.send(message) }
Worker.runAll(arguments: ["start"])
