// The chat in one chat process: its clients by room, and the Channel subscriptions that bring it what
// is said in those rooms in every process.
//
// Every message goes through the Channel server, the sender's own process included: each process
// subscribes to the event `chat:room:<room>` while it has someone in that room, and publishing there
// reaches every process with members exactly once. A client sees its own message come back, which is
// how the page knows it was delivered; and a client that sees its own `joined` notice knows its process
// is subscribed, since the subscription went to the server before the notice, on the same connection.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

typealias ChatConnection = TCPConnection<WebSocketServerCodec>

/// One chat process's clients and rooms.
final class ChatService {
    private struct Member {
        let connection: ChatConnection
        var name: String
        var room: String
        let format: ChatFormat
        var limiter: RateLimiter
    }

    private let loop: EventLoop
    private let channel: ChannelClient
    /// Push by user and group (`/msg NAME text`, the web's /api/push): each client is bound to its name
    /// and is in its room's group.
    private let gateway: Gateway
    private let store: ChatStore
    private let limits: ChatLimits
    private let workerID: Int
    private var members: [Int: Member] = [:]
    /// Room → ids of this process's members in it.
    private var rooms: [String: Set<Int>] = [:]
    private var sent = 0
    private var linkDown = false

    init(
        loop: EventLoop,
        workerID: Int,
        workerCount: Int,
        channel: ChannelBackendKind,
        globalData: String,
        gateway: Gateway,
        limits: ChatLimits
    ) throws {
        self.gateway = gateway
        self.loop = loop
        self.workerID = workerID
        self.limits = limits
        self.channel = ChannelClient(loop: loop, configuration: .init(backend: channel))
        store = try ChatStore(
            loop: loop,
            server: globalData,
            historySize: limits.historySize,
            workerID: workerID,
            workerCount: workerCount
        )
        // An event of a room this process just left can still be on its way; it has nobody to go to.
        self.channel.onMessage = { _, _ in }
        // While the Channel server is away (restarting), messages wait in the client (up to its bound, then
        // each drop is logged) and this process's clients are told why nothing arrives.
        self.channel.onClose = { [unowned self] in
            linkDown = true
            announceLink(up: false, "this chat process lost the Channel server; messages wait and go out when it is back")
        }
        // "Back" is said when a probe this process publishes to itself returns: the server has then
        // handled the subscriptions sent before it on this connection, so what others publish from then
        // on reaches this process's clients. (Saying it on connect would race them.)
        let probe = "chat:process:\(workerID).\(getpid())"
        self.channel.on(probe) { [unowned self] _ in
            guard linkDown else { return }
            linkDown = false
            announceLink(up: true, "the Channel server is back")
        }
        self.channel.onConnect = { [unowned self] in
            if linkDown { self.channel.publish(probe, .null) }
        }
        self.channel.connect()
        // Announce whoever this worker id's previous process held as gone (it was killed, or crashed).
        store.takeOverRoster(current: [:]) { [self] stale in
            for (room, names) in stale {
                for name in names { publish(ChatEvent(kind: .left, room: room, from: name, text: "connection lost")) }
            }
        }
    }

    private static func event(of room: String) -> String { "chat:room:\(room)" }

    private static func now() -> Double { Double(MonotonicClock.now()) / 1e9 }

    // MARK: - Clients

    /// A client whose handshake is being accepted: `?name=NAME&room=ROOM&format=json` (all optional).
    func connected(_ connection: ChatConnection, _ request: HTTPRequest) {
        let member = Member(
            connection: connection,
            name: ChatNames.person(request.query["name"], fallback: "guest\(workerID)-\(connection.id)"),
            room: ChatNames.room(request.query["room"]),
            format: request.query["format"] == "json" ? .json : .plain,
            limiter: RateLimiter(burst: limits.burst, perSecond: limits.perSecond, now: Self.now())
        )
        members[connection.id] = member
        let client = gateway.add(connection: connection.id, send: { [weak connection] text in
            connection?.send(.text(member.format == .json ? JSON.object([("type", .text("push")), ("text", .text(text))]) : "[push] " + text))
        })
        gateway.bind(client, user: member.name)
        join(connection.id, member.room)
    }

    func closed(_ connection: ChatConnection) {
        guard let member = members.removeValue(forKey: connection.id) else { return }
        gateway.remove(connection: connection.id)
        leave(connection.id, member.room, name: member.name)
    }

    /// A message from a client: a chat message, or `/join ROOM` or `/users`.
    func received(_ message: WebSocketMessage, from connection: ChatConnection) {
        guard var member = members[connection.id] else { return }
        guard case .text(let text) = message else {
            return refuse(connection.id, "binary", "binary messages are not chat; send text")
        }
        guard text.utf8.count <= limits.maxMessageBytes else {
            let limit = limits.maxMessageBytes
            return refuse(connection.id, "too_long", "message of \(text.utf8.count) bytes is over the \(limit)-byte limit; not sent")
        }
        let now = Self.now()
        let admitted = member.limiter.admit(now: now)
        let refused = member.limiter.shouldNotify(now: now)
        members[connection.id] = member
        guard admitted else {
            TransportContext.of(loop).statistics.packetErr += 1
            if let refused {
                let rule = "at most \(limits.burst) at once, then \(Int(limits.perSecond)) a second"
                tell(connection.id, error: "rate_limited", "too many messages: \(rule); \(refused) dropped")
            }
            return
        }
        if text.hasPrefix("/join ") {
            let room = ChatNames.room(String(text.dropFirst(6)).trimmingSpaces)
            if room != member.room {
                leave(connection.id, member.room, name: member.name)
                members[connection.id]?.room = room
                join(connection.id, room)
            }
        } else if text == "/users" {
            sendUsers(to: connection.id, room: member.room)
        } else if limits.allowStuck, text.hasPrefix("/stuck ") {
            // DEMO_STUCK=1 only: the handler spins for N seconds (at most 60), as a handler stuck in a loop
            // would, so the dashboard and `status` can be seen to show where.
            let until = Self.now() + min(60, Double(text.dropFirst(7)) ?? 5)
            while Self.now() < until {}
        } else if text.hasPrefix("/msg ") {
            // `/msg NAME text`: to every client of NAME, in any process (or machine, on Redis).
            let rest = text.dropFirst(5).drop { $0 == " " }
            let name = String(rest.prefix { $0 != " " })
            let body = rest.dropFirst(name.count).drop { $0 == " " }
            gateway.isOnline(user: name) { [self] online in
                guard online else { return tell(connection.id, error: "offline", "\(name) is not online") }
                gateway.send(toUser: name, "\(member.name) to \(name): \(body)")
                // The sender sees what it sent, unless it wrote to itself (then it arrives as to anyone).
                if name != member.name { gateway.send(toClient: gateway.clientID(of: connection.id), "\(member.name) to \(name): \(body)") }
            }
        } else if !text.allSatisfy(\.isWhitespace) {
            sent += 1
            let id = "\(workerID).\(getpid()).\(sent)"
            let event = ChatEvent(kind: .message, room: member.room, from: member.name, text: text, id: id)
            // Published once it is in the room's history: whoever has seen it, a newcomer finds it there.
            // A sender's messages stay in order: their stores complete in the order they were sent.
            store.append(event) { [self] in publish(event) }
        }
    }

    // MARK: - Rooms

    private func join(_ id: Int, _ room: String) {
        guard let member = members[id] else { return }
        if rooms[room, default: []].isEmpty {
            let name = Self.event(of: room)
            channel.on(name) { [unowned self] data in
                if let event = ChatEvent(data) { deliver(event) }
            }
        }
        rooms[room, default: []].insert(id)
        gateway.join(gateway.clientID(of: id), group: room)
        send(id, plain: "welcome \(member.name) to \(room) (worker \(workerID), pid \(getpid()))") {
            JSON.object([
                ("type", .text("welcome")), ("name", .text(member.name)), ("room", .text(room)), ("worker", .number(workerID)),
                ("pid", .number(Int(getpid()))),
            ])
        }
        // History first, then the user list, then the announcement: the newcomer reads welcome, history,
        // users, then its own join and what follows, in that order. Announced once the roster has them,
        // so whoever asks for the user list on hearing it sees them.
        store.history(room) { [self] events in
            guard members[id]?.room == room else { return }
            if !events.isEmpty {
                send(id, plain: events.map { "history: " + $0.plain }.joined(separator: "\n")) {
                    let list = "[" + events.map(\.json).joined(separator: ",") + "]"
                    return JSON.object([("type", .text("history")), ("room", .text(room)), ("messages", .raw(list))])
                }
            }
            store.writeRoster(roster) { [self] in
                sendUsers(to: id, room: room) { [self] in publish(ChatEvent(kind: .joined, room: room, from: member.name)) }
            }
        }
    }

    private func leave(_ id: Int, _ room: String, name: String) {
        rooms[room]?.remove(id)
        gateway.leave(gateway.clientID(of: id), group: room)
        if rooms[room]?.isEmpty ?? false {
            rooms[room] = nil
            channel.unsubscribe(Self.event(of: room))
        }
        store.writeRoster(roster) { [self] in publish(ChatEvent(kind: .left, room: room, from: name)) }
    }

    /// This process's rooms and the names in them.
    private var roster: [String: [String]] {
        rooms.mapValues { ids in ids.compactMap { members[$0]?.name }.sorted() }
    }

    /// Sends the room's user list to `id`, then runs `then`, unless `id` left the room meanwhile.
    private func sendUsers(to id: Int, room: String, then: @escaping () -> Void = {}) {
        guard members[id]?.room == room else { return }
        store.users(in: room) { [self] names in
            guard members[id]?.room == room else { return }
            send(id, plain: "users in \(room): " + names.joined(separator: ", ")) {
                JSON.object([("type", .text("users")), ("room", .text(room)), ("users", .list(names))])
            }
            then()
        }
    }

    private func publish(_ event: ChatEvent) {
        channel.publish(Self.event(of: event.room), event.value)
    }

    /// An event of one of this process's rooms, from the Channel server: to each member here, rendered
    /// once per format however many members there are.
    private func deliver(_ event: ChatEvent) {
        guard let ids = rooms[event.room] else { return }
        var plain: WebSocketMessage?
        var json: WebSocketMessage?
        for id in ids {
            guard let member = members[id] else { continue }
            switch member.format {
            case .plain:
                if plain == nil { plain = .text(event.plain) }
                member.connection.send(plain!)
            case .json:
                if json == nil { json = .text(event.json) }
                member.connection.send(json!)
            }
        }
    }

    /// Tells every client of this process that the push link (Redis, with PUSH_REDIS) went down or came
    /// back: pushes and private messages wait meanwhile (up to the channel's bound, then are dropped).
    func pushLink(up: Bool) {
        announceLink(up: up, up ? "the push server (Redis) is back" : "this chat process lost the push server (Redis); pushes wait and go out when it is back")
    }

    /// Tells every client of this process that the link to the other processes went down or came back.
    private func announceLink(up: Bool, _ text: String) {
        for id in members.keys {
            send(id, plain: (up ? "* " : "error: ") + text) {
                JSON.object([("type", .text("link")), ("up", .number(up ? 1 : 0)), ("text", .text(text))])
            }
        }
    }

    // MARK: - Answers to one client

    private func send(_ id: Int, plain: String, json: () -> String) {
        guard let member = members[id] else { return }
        member.connection.send(.text(member.format == .json ? json() : plain))
    }

    private func tell(_ id: Int, error code: String, _ text: String) {
        send(id, plain: "error: \(text)") { JSON.object([("type", .text("error")), ("code", .text(code)), ("text", .text(text))]) }
    }

    /// A message that breaks a rule: answered with the reason and counted in `status`'s packet_err.
    private func refuse(_ id: Int, _ code: String, _ text: String) {
        TransportContext.of(loop).statistics.packetErr += 1
        tell(id, error: code, text)
    }
}
