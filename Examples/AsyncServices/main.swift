// async/await in a worker: an HTTP handler that awaits, in sequence, a GlobalData counter, a Channel
// publish and a call to a second local HTTP service, on the worker's loop thread.
//
//   swift run async-services start
//   curl http://127.0.0.1:8090/        → visit 1, published to "visits", backend said: pong from backend
//
// Processes: a GlobalData server (2207), a Channel server (2206), the backend HTTP service (8091) and the
// front HTTP worker (8090, 2 processes). HOST, FRONT_PORT, BACKEND_PORT, PID_FILE and LOG_FILE override
// the defaults.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

func setting(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}

var settings = Worker.settings
settings.pidFile = getenv("PID_FILE").map { String(cString: $0) }
settings.logFile = getenv("LOG_FILE").map { String(cString: $0) }
Worker.settings = settings

let host = setting("HOST", "127.0.0.1")
let globalDataAddress = "\(host):\(setting("GLOBAL_DATA_PORT", "2207"))"
let channelAddress = "\(host):\(setting("CHANNEL_PORT", "2206"))"
let backendPort = setting("BACKEND_PORT", "8091")
_ = try GlobalDataServer(globalDataAddress)
_ = try ChannelServer(channelAddress)

let backend = try Worker(http: "\(host):\(backendPort)")
backend.name = "backend"
backend.onMessage = { connection, _ in connection.send("pong from backend") }

let front = try Worker(http: "\(host):\(setting("FRONT_PORT", "8090"))")
front.name = "front"
front.count = 2
let addresses = Front.Addresses(globalData: globalDataAddress, channel: channelAddress, backend: "\(host):\(backendPort)")
front.onWorkerStart = { worker in try Front.start(worker, addresses) }
Worker.runAll()

/// What one front process holds: its GlobalData and Channel clients.
///
/// The handlers are set in this type's methods, not in closures at the top of this file: top-level code
/// runs on the main actor, so a closure written there is isolated to it, and an async one would wait
/// for the main actor, which never runs inside a worker (the worker's loop owns the main thread).
final class Front {
    struct Addresses: Sendable {
        var globalData: String
        var channel: String
        var backend: String
    }

    let globalData: GlobalDataClient
    let channel: ChannelClient
    let backend: String

    init(loop: EventLoop, _ addresses: Addresses) throws {
        globalData = try GlobalDataClient(loop: loop, server: addresses.globalData)
        channel = ChannelClient(loop: loop, server: addresses.channel)
        channel.connect()
        backend = addresses.backend
    }

    /// Called from `onWorkerStart`: the clients, then the async handler.
    static func start(_ worker: Worker<HTTPServerCodec>, _ addresses: Addresses) throws {
        let front = try Front(loop: worker.loop!, addresses)
        worker.onMessageAsync = { connection, request in
            try await front.answer(request, on: connection)
        }
    }

    /// The handler: three awaits in sequence, each resuming on this process's loop thread.
    func answer(_ request: HTTPRequest, on connection: TCPConnection<HTTPServerCodec>) async throws {
        var visits = try await globalData.increment("visits")?.intValue
        if visits == nil {
            // The first visit creates the counter (unless another process just did: then count again).
            visits = try await globalData.add("visits", 1) ? 1 : try await globalData.increment("visits")?.intValue
        }
        let count = visits ?? 0
        channel.publish("visits", .int(count))  // publishing never waits: it queues while disconnected
        let answer = try await Self.get(from: backend, on: connection.loop)
        connection.send(.response(HTTPResponse(body: "visit \(count), published to \"visits\", backend said: \(answer)\n")))
    }

    /// The body of a GET / to `address` (a one-shot HTTP/1.0 exchange over a raw TCP client; the clients
    /// layer's HTTP client will replace it).
    static func get(from address: String, on loop: EventLoop) async throws -> String {
        let client = try TCPClient<RawCodec>(loop: loop, url: "tcp://\(address)")
        try await client.connect()
        client.send(ByteBuffer("GET / HTTP/1.0\r\nHost: \(address)\r\n\r\n"))
        var response: [UInt8] = []
        for try await bytes in client.messages() { response += bytes.bytes }  // until the server closes
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let head = (0...max(0, response.count - 4)).first(where: { Array(response[$0..<min($0 + 4, response.count)]) == separator })
        else { return "" }
        return String(decoding: response[(head + 4)...], as: UTF8.self)
    }
}
