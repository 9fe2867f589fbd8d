// The Autobahn|Testsuite testee for our WebSocket client: asks the fuzzingserver how many cases there
// are, runs each one by echoing every message back, then asks it to write its reports.
//
//   autobahn-client [--server ws://127.0.0.1:9001] [--agent swift-workerman] [--deflate] [--no-context-takeover]
//
// --deflate offers permessage-deflate (RFC 7692), for Autobahn's sections 12 and 13. Cases 13.2, 13.5
// and 13.6 have the server ask for client_no_context_takeover, which Autobahn grants only to a client
// that offered it: they report UNIMPLEMENTED unless --no-context-takeover is given too (which then
// gives up context takeover for every case).
import Workerman

#if canImport(Glibc)
import Glibc
#endif

var server = "ws://127.0.0.1:9001"
var agent = "swift-workerman"
var deflate = false
var noContextTakeover = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--server": server = arguments.next() ?? server
    case "--agent": agent = arguments.next() ?? agent
    case "--deflate": deflate = true
    case "--no-context-takeover": noContextTakeover = true
    default:
        print("usage: autobahn-client [--server URL] [--agent NAME] [--deflate] [--no-context-takeover]")
        exit(2)
    }
}

/// Runs the cases one after another, each on a fresh connection.
final class AutobahnRun {
    let loop: EventLoop
    let server: String
    let agent: String
    let compression: PermessageDeflateOptions?
    var caseCount = 0
    var current = 0

    init(loop: EventLoop, server: String, agent: String, compression: PermessageDeflateOptions?) {
        self.loop = loop
        self.compression = compression
        self.server = server
        self.agent = agent
    }

    /// Opens `path` on the fuzzingserver, hands each message to `onMessage`, and calls `done` once closed.
    func open(
        _ path: String,
        onMessage: @escaping (TCPConnection<WebSocketClientCodec>, WebSocketMessage) -> Void,
        done: @escaping () -> Void
    ) throws {
        var codec = WebSocketClientCodec()
        codec.permessageDeflate = compression
        let client = try TCPClient<WebSocketClientCodec>(loop: loop, url: server + path, codec: codec)
        client.maxPackageSize = 64 * 1024 * 1024
        client.onMessage = { connection, message in onMessage(connection, message) }
        client.onClose = { _ in done() }
        client.onError = { _, error in print("\(path): \(error)") }
        client.connect()
    }

    func start() throws {
        try open("/getCaseCount", onMessage: { [unowned self] _, message in caseCount = Int(message.text) ?? 0 }) { [unowned self] in
            print("\(caseCount) cases")
            runNext()
        }
    }

    func runNext() {
        current += 1
        do {
            guard current <= caseCount else {
                try open("/updateReports?agent=\(agent)", onMessage: { _, _ in }, done: { [unowned self] in loop.stop() })
                return
            }
            try open("/runCase?case=\(current)&agent=\(agent)", onMessage: { connection, message in connection.send(message) }) {
                [unowned self] in runNext()
            }
        } catch {
            print("case \(current): \(error)")
            loop.stop()
        }
    }
}

let loop = try EventLoop()
let run = AutobahnRun(
    loop: loop,
    server: server,
    agent: agent,
    compression: deflate ? PermessageDeflateOptions(clientNoContextTakeover: noContextTakeover) : nil
)
try run.start()
try loop.addTimer(after: 900) { loop.stop() }  // a bound on the whole run
try loop.run(.untilStopped)
