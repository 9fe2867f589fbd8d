// Channel cluster push — the Channel manual's first example, in Swift.
//
//   swift run channel-cluster-push start
//
// Three workers in one program:
// - a Channel server on 127.0.0.1:2206 (or none: REDIS=host:port makes Redis the broker, so copies of
//   this program on several machines push to each other's clients);
// - "pusher", WebSocket on ws://127.0.0.1:4236 in 2 processes: each process subscribes to the event
//   named after its worker id (targeted push) and to "broadcast"; a new client is told
//   "workerID:<id> connectionID:<id> connected";
// - "publisher", HTTP on http://127.0.0.1:4237:
//     /?to_worker_id=1&to_connection_id=3&content=hi   push "hi" to that one client
//     /?content=hi                                      push "hi" to every client of every process
//
// HOST, CHANNEL_PORT, WS_PORT, HTTP_PORT, WS_COUNT, REDIS, PID_FILE and LOG_FILE override the defaults.
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
let channelAddress = "\(host):\(setting("CHANNEL_PORT", "2206"))"
let backend: ChannelBackendKind
if let redis = getenv("REDIS") {
    backend = .redis(String(cString: redis))
} else {
    backend = .server(channelAddress)
    _ = try ChannelServer(channelAddress)
}

// MARK: - The WebSocket pushers

let pusher = try Worker(websocket: "\(host):\(setting("WS_PORT", "4236"))")
pusher.name = "pusher"
pusher.count = Int(setting("WS_COUNT", "2")) ?? 2
pusher.onWorkerStart = { worker in
    let channel = ChannelClient(loop: worker.loop!, configuration: .init(backend: backend))
    // Targeted: the event is this process's worker id; the data names the connection.
    channel.on(String(worker.id)) { data in
        let target = data["to_connection_id"]
        guard let id = target?.intValue ?? target?.stringValue.flatMap({ Int($0) }),
            let connection = worker.connections[id]
        else {
            print("connection not exists")
            return
        }
        connection.send(.text(data["content"]?.stringValue ?? ""))
    }
    channel.on("broadcast") { data in
        let content = data["content"]?.stringValue ?? ""
        for connection in worker.connections.values { connection.send(.text(content)) }
    }
}
pusher.onConnect = { connection in
    let message = "workerID:\(pusher.id) connectionID:\(connection.id) connected"
    print(message)
    connection.send(.text(message))
}

// MARK: - The HTTP publisher

/// The publisher's client, made in its process (a client needs that process's loop).
final class Publisher {
    var channel: ChannelClient?
}
let shared = Publisher()

let publisher = try Worker(http: "\(host):\(setting("HTTP_PORT", "4237"))")
publisher.name = "publisher"
publisher.onWorkerStart = { worker in
    shared.channel = ChannelClient(loop: worker.loop!, configuration: .init(backend: backend))
    shared.channel?.connect()
}
publisher.onMessage = { connection, request in
    connection.send("ok")
    guard let content = request.query["content"], !content.isEmpty else { return }
    if let worker = request.query["to_worker_id"], let target = request.query["to_connection_id"] {
        shared.channel?.publish(worker, ["to_connection_id": PHPValue(target), "content": PHPValue(content)])
    } else {
        shared.channel?.publish("broadcast", ["content": PHPValue(content)])
    }
}

Worker.runAll()
