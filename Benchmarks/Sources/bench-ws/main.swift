// bench-ws: the WebSocket echo server ../shared/bench/anchors.sh measures as `oursws-1`: a
// `websocket://` Worker sending every message back with the same opcode.
//
//   bench-ws --port P [--count N]        (foreground; SIGINT stops it)
import Workerman

var port = 9001
var count = 1
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--count": count = Int(arguments.next() ?? "") ?? count
    default: break
    }
}

let ws = try Worker(websocket: "127.0.0.1:\(port)")
ws.name = "bench-ws"
ws.count = count
ws.maxPackageSize = 64 * 1024 * 1024
ws.onMessage = { connection, message in connection.send(message) }
Worker.runAll(arguments: ["start"])
