// bench-tls-load: the load tls-compare.sh drives besides wrk, on one event loop of our own.
//
//   bench-tls-load echo --url wss://127.0.0.1:P/ [--conns 100] [--seconds 5] [--payload 32]
//       WebSocket echo with a window of 1 per connection (ws:// gives the plain baseline with the same
//       client); prints "messages/s N".
//   bench-tls-load hold --url ssl://127.0.0.1:P [--conns 1000] [--seconds 30]
//       Opens that many TLS connections, sends one HTTP request on each and, once every answer is in,
//       prints "ready N" and holds them idle until the time is up (or SIGINT): the server's memory is
//       then measured by the script.
//
// Certificates are not verified (`verifyPeer: false`): the script's peers use a throwaway certificate.
import Workerman
import WorkermanTLS

#if canImport(Glibc)
import Glibc
#endif

var mode = CommandLine.arguments.dropFirst().first ?? "echo"
var url = "wss://127.0.0.1:8443/"
var connections = 100
var seconds = 5.0
var payload = 32
var arguments = CommandLine.arguments.dropFirst(2).makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--url": url = arguments.next() ?? url
    case "--conns": connections = Int(arguments.next() ?? "") ?? connections
    case "--seconds": seconds = Double(arguments.next() ?? "") ?? seconds
    case "--payload": payload = Int(arguments.next() ?? "") ?? payload
    default:
        print("unknown argument \(argument)")
        exit(2)
    }
}

/// Counts and stops: shared by every connection's callbacks, all on the one loop thread.
final class Tally {
    var messages = 0
    var ready = 0
    var failures = 0
    var started: UInt64 = 0
}
/// Everything runs inside one function: the loop and the tally are its locals, captured by the callbacks
/// (all on the loop's thread).
func run(mode: String, url: String, connections: Int, seconds: Double, payload: Int) throws {
    let loop = try EventLoop()
    let tls = try TLSClientConfiguration(verifyPeer: false)
    let secure = url.hasPrefix("wss://") || url.hasPrefix("ssl://") || url.hasPrefix("https://")

    let tally = Tally()

    func finish(_ line: String) {
        print(line)
        loop.stop()
    }

    switch mode {
    case "echo":
        let text = WebSocketMessage.text(String(repeating: "x", count: payload))
        var clients: [TCPClient<WebSocketClientCodec>] = []
        for _ in 0..<connections {
            let client = try TCPClient<WebSocketClientCodec>(loop: loop, url: url)
            if secure { client.security = tls }
            client.onCodecEvent = { client, event in
                guard case .handshake = event else { return }
                tally.ready += 1
                if tally.ready == connections { tally.started = loop.clock.nanoseconds() }
                client.send(text)
            }
            client.onMessage = { client, _ in
                if tally.started != 0 { tally.messages += 1 }
                client.send(text)
            }
            client.onError = { _, error in
                tally.failures += 1
                print("error: \(error)")
            }
            clients.append(client)
            client.connect()
        }
        _ = try loop.addTimer(after: seconds) {
            let elapsed = tally.started == 0 ? seconds : Double(loop.clock.nanoseconds() - tally.started) / 1e9
            finish("messages/s \(Int(Double(tally.messages) / max(elapsed, 0.001))) connections \(tally.ready) errors \(tally.failures)")
        }
        try loop.run(.untilStopped)
        clients.forEach { $0.destroy() }
    case "hold":
        var clients: [TCPClient<RawCodec>] = []
        for _ in 0..<connections {
            let client = try TCPClient<RawCodec>(loop: loop, url: url)
            client.security = tls
            client.connectTimeout = 30
            client.onConnect = { client in client.sendRaw("GET / HTTP/1.1\r\nHost: bench\r\n\r\n") }
            client.onMessage = { _, _ in
                tally.ready += 1
                if tally.ready == connections {
                    // Unbuffered: the script waits for this line while the program goes on running.
                    let line = Array("ready \(tally.ready)\n".utf8)
                    _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                }
            }
            client.onError = { _, _ in tally.failures += 1 }
            clients.append(client)
            client.connect()
        }
        _ = try loop.addTimer(after: seconds) { finish("held \(tally.ready) errors \(tally.failures)") }
        try loop.run(.untilStopped)
        clients.forEach { $0.destroy() }
    default:
        print("usage: bench-tls-load echo|hold --url URL [--conns N] [--seconds S] [--payload BYTES]")
        exit(2)
    }
}

try run(mode: mode, url: url, connections: connections, seconds: seconds, payload: payload)
