// Channel group send — the Channel manual's second example, in Swift.
//
//   swift run channel-group-send start
//
// A WebSocket server on ws://127.0.0.1:1234 in 4 processes and a Channel server on 127.0.0.1:2206.
// Clients send JSON:
//   {"cmd":"add_group","group_id":"123"}                       join group 123 (in this process)
//   {"cmd":"send_to_group","group_id":"123","message":"hi"}    every member, in every process, gets "hi"
// Each process keeps its own members; a group send is published on the "send_to_group" event, and each
// process delivers it to its local members of that group. (Unlike the PHP example, a join is answered
// with "joined <group> in worker <id>", so a client knows it took effect.)
//
// HOST, CHANNEL_PORT, WS_PORT, WS_COUNT, REDIS, PID_FILE and LOG_FILE override the defaults.
import Workerman

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

/// This process's groups: group id → its members here, by connection id.
final class Groups {
    var members: [String: [Int: TCPConnection<WebSocketServerCodec>]] = [:]
    var channel: ChannelClient?

    func join(_ group: String, _ connection: TCPConnection<WebSocketServerCodec>) {
        members[group, default: [:]][connection.id] = connection
        var joined = connection.userInfo["groups"] as? Set<String> ?? []
        joined.insert(group)
        connection.userInfo["groups"] = joined
    }

    func leaveAll(_ connection: TCPConnection<WebSocketServerCodec>) {
        for group in connection.userInfo["groups"] as? Set<String> ?? [] {
            members[group]?[connection.id] = nil
            if members[group]?.isEmpty ?? false { members[group] = nil }
        }
    }

    func deliver(_ message: String, to group: String) {
        for connection in members[group]?.values ?? [:].values { connection.send(.text(message)) }
    }
}
let groups = Groups()

/// What clients send.
struct Command: Decodable {
    var cmd: String
    var group_id: String
    var message: String?
}

let ws = try Worker(websocket: "\(host):\(setting("WS_PORT", "1234"))")
ws.name = "group"
ws.count = Int(setting("WS_COUNT", "4")) ?? 4
ws.onWorkerStart = { worker in
    let channel = ChannelClient(loop: worker.loop!, configuration: .init(backend: backend))
    channel.on("send_to_group") { data in
        groups.deliver(data["message"]?.stringValue ?? "", to: data["group_id"]?.stringValue ?? "")
    }
    groups.channel = channel
}
ws.onMessage = { connection, message in
    let command = try JSONDecoder().decode(Command.self, from: Data(message.text.utf8))
    switch command.cmd {
    case "add_group":
        groups.join(command.group_id, connection)
        connection.send(.text("joined \(command.group_id) in worker \(ws.id)"))
    case "send_to_group":
        groups.channel?.publish(
            "send_to_group",
            ["group_id": PHPValue(command.group_id), "message": PHPValue(command.message ?? "")]
        )
    default:
        connection.send(.text("unknown cmd \(command.cmd)"))
    }
}
ws.onClose = { connection in groups.leaveAll(connection) }

Worker.runAll()
