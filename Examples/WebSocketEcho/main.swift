// A WebSocket echo server on one event loop: every text or binary message goes back with the same
// opcode. Autobahn|Testsuite's fuzzingclient runs against it (Scripts/autobahn.sh).
//
//   ws-echo [--port P] [--max-message BYTES] [--deflate]     (port 0 picks a free port and prints it)
//
// --deflate accepts permessage-deflate (RFC 7692), for Autobahn's sections 12 and 13.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

var port = 9001
var maxMessage = 64 * 1024 * 1024  // Autobahn's section 9 sends 16 MiB messages
var deflate = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--max-message": maxMessage = Int(arguments.next() ?? "") ?? maxMessage
    case "--deflate": deflate = true
    default:
        print("usage: ws-echo [--port P] [--max-message BYTES] [--deflate]")
        exit(2)
    }
}

let loop = try EventLoop()
let server = try TCPServer<WebSocketServerCodec>(loop: loop, address: "websocket://127.0.0.1:\(port)")
server.maxPackageSize = maxMessage
if deflate {
    server.makeCodec = {
        var codec = WebSocketServerCodec()
        codec.permessageDeflate = PermessageDeflateOptions()
        return codec
    }
}
server.onMessage = { connection, message in connection.send(message) }
try server.start()
// One line on stdout (unbuffered write), so a script waiting for the port sees it at once.
var line = Array("port \(server.listener!.address.port)\n".utf8)
_ = line.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
try loop.watchSignal(SIGINT) { _ in loop.stop() }
try loop.watchSignal(SIGTERM) { _ in loop.stop() }
try loop.run(.untilStopped)
