// The demo: one program, six workers, supervised processes (the system of Workerman's status page).
//
//   swift run -c release demo start        (Ctrl-C stops it; `start -d` runs it as a daemon)
//   swift run -c release demo status | reload | stop
//
// - web  http://127.0.0.1:8080  — the chat page, a JSON endpoint (/api/status), the files under
//   Examples/Demo/public (ETag, Range, 304), the live dashboard (/dashboard) and the push endpoints
//   (/api/push, /api/online, /api/group: see DemoPush.swift), in 2 processes;
// - chat ws://127.0.0.1:2346    — a WebSocket chat in 4 processes: rooms, a name at login, join and leave
//   notices, the room's last messages on joining, a user list. Every message reaches every client of its
//   room whatever process holds it, through the Channel server below. A script connects to
//   ws://127.0.0.1:2346/?name=NAME&room=ROOM and reads one line per event (`[room] name: text`);
//   the page adds `format=json`. `/join ROOM` switches rooms, `/users` lists who is in the room;
// - ChannelServer 127.0.0.1:2206 and GlobalDataServer 127.0.0.1:2207 — how the chat processes reach each
//   other (live messages, pushes) and what they share (history, who is where);
// - statistics udp://127.0.0.1:55656 — sums the calls the web and chat processes report;
// - FileMonitor — reloads the workers when the page's files or the binary change (debug mode only).
//
// HOST, WEB_PORT, CHAT_PORT, CHANNEL_PORT, GLOBALDATA_PORT, WEB_COUNT, CHAT_COUNT, PUBLIC_DIR, PID_FILE,
// LOG_FILE, STATISTICS_PORT, STATISTICS_FILE, PUSH_REDIS (host:port: push across machines through
// Redis), PUSH_PREFIX, PUSH_INTERVAL, DEMO_STUCK (1: the chat's `/stuck N`) and the chat's limits
// CHAT_MAX_MESSAGE (bytes), CHAT_BURST, CHAT_RATE (messages a second) and CHAT_HISTORY override the
// defaults.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

func setting(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}

func setting(_ name: String, _ fallback: Int) -> Int {
    Int(setting(name, "")) ?? fallback
}

var settings = Worker.settings
settings.pidFile = getenv("PID_FILE").map { String(cString: $0) }
settings.logFile = getenv("LOG_FILE").map { String(cString: $0) }
Worker.settings = settings

let host = setting("HOST", "127.0.0.1")
let publicDirectory = setting("PUBLIC_DIR", String(#filePath.dropLast("main.swift".count)) + "public")
// The program's own servers listen on loopback whatever HOST says: only its processes talk to them.
let channelAddress = "127.0.0.1:\(setting("CHANNEL_PORT", "2206"))"
let globalDataAddress = "127.0.0.1:\(setting("GLOBALDATA_PORT", "2207"))"
let chatPort = setting("CHAT_PORT", "2346")
// Push by user and group goes over the Channel server, or over Redis when PUSH_REDIS=host:port names
// one: then every demo sharing that Redis (on any machine) reaches the others' clients.
let pushBackend: ChannelBackendKind = getenv("PUSH_REDIS").map { .redis(String(cString: $0), prefix: setting("PUSH_PREFIX", "demo:push:")) }
    ?? .server(channelAddress)

// PUSH_INTERVAL: seconds between presence renewals (a dead process is forgotten after 3).
var pushConfiguration = Gateway.Configuration()
pushConfiguration.presenceInterval = Double(setting("PUSH_INTERVAL", "")) ?? pushConfiguration.presenceInterval

// Every web and chat process reports its calls to the statistics worker over UDP; the dashboard shows
// what it sums (the file is how the statistics process hands it to the web processes).
let statisticsAddress = "127.0.0.1:\(setting("STATISTICS_PORT", "55656"))"
let statisticsFile = setting(
    "STATISTICS_FILE",
    "\(getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")/workerman-demo-statistics-\(setting("STATISTICS_PORT", "55656")).json"
)

/// This process's gateway and statistics reporter, made in `onWorkerStart` (they need its loop).
final class PushProcess {
    var gateway: Gateway?
    var statistics: StatisticsClient?

    /// Reports one call that began at `since` (nothing if the reporter could not be made).
    func report(_ module: String, _ interface: String, since: UInt64, success: Bool = true, code: Int32 = 0) {
        statistics?.report(module: module, interface: interface, since: since, success: success, code: code)
    }
}
let push = PushProcess()

/// The web process's dashboard (at /dashboard), made in `onWorkerStart`.
final class DashboardProcess {
    var dashboard: Dashboard?
}
let board = DashboardProcess()

// MARK: - web

let web = try Worker(http: "\(host):\(setting("WEB_PORT", "8080"))")
web.name = "web"
web.count = setting("WEB_COUNT", 2)
let files = try StaticFiles(root: publicDirectory)
web.onWorkerStart = { worker in
    push.gateway = Gateway(loop: worker.loop!, backend: pushBackend, configuration: pushConfiguration)
    push.statistics = try? StatisticsClient(loop: worker.loop!, collector: statisticsAddress)
    board.dashboard = Dashboard(loop: worker.loop!, path: "/dashboard", statisticsFile: statisticsFile)
}
web.onMessage = { connection, request in
    let started = MonotonicClock.now()
    // Per route class, not per path: a path per interface would let any client fill the collector.
    let interface = request.path.hasPrefix("/dashboard") ? "dashboard" : request.path.hasPrefix("/api/") ? String(request.path.dropFirst(5).prefix { $0 != "/" }) : "static"
    defer { push.report("web", interface, since: started) }
    if board.dashboard?.serve(request, on: connection) == true { return }
    if let gateway = push.gateway, answerPush(request, gateway: gateway, { [weak connection] body in
        connection?.send(.response(HTTPResponse(headers: ["Content-Type": "application/json"], body: body)))
    }) {
        return
    }
    switch request.path {
    case "/hello":
        connection.send("Hello World")
    case "/api/status":
        let body = #"{"pid":\#(getpid()),"worker":"web","id":\#(web.id),"connections":\#(web.connections.count)}"#
        connection.send(.response(HTTPResponse(headers: ["Content-Type": "application/json"], body: body)))
    case "/api/config":
        // The page asks where the chat is, so it still finds it when CHAT_PORT moves it.
        let body = #"{"chatPort":\#(chatPort)}"#
        connection.send(.response(HTTPResponse(headers: ["Content-Type": "application/json"], body: body)))
    default:
        if !files.serve(request, on: connection) {
            connection.send(.response(HTTPResponse(status: .notFound, body: "<h3>404 Not Found</h3>")))
        }
    }
}

// MARK: - chat

var limits = ChatLimits()
limits.maxMessageBytes = setting("CHAT_MAX_MESSAGE", limits.maxMessageBytes)
limits.burst = setting("CHAT_BURST", limits.burst)
limits.perSecond = Double(setting("CHAT_RATE", Int(limits.perSecond)))
limits.historySize = setting("CHAT_HISTORY", limits.historySize)
limits.allowStuck = setting("DEMO_STUCK", 0) == 1

/// This process's chat, made in `onWorkerStart` (it needs the process's loop).
final class ChatProcess {
    var service: ChatService?
}
let chatProcess = ChatProcess()

let chat = try Worker(websocket: "\(host):\(chatPort)")
chat.name = "chat"
chat.count = setting("CHAT_COUNT", 4)
// A socket per process, so the kernel spreads connections over the four by address hash. On one shared
// listener a burst goes to whichever process wakes first: 46 of 50 clients on one process, measured.
chat.reusePort = true
// Frames past this are closed by the codec with 1009; chat messages are held to CHAT_MAX_MESSAGE before.
chat.maxPackageSize = 64 * 1024
chat.onWorkerStart = { worker in
    let gateway = Gateway(loop: worker.loop!, backend: pushBackend, configuration: pushConfiguration)
    push.gateway = gateway
    push.statistics = try? StatisticsClient(loop: worker.loop!, collector: statisticsAddress)
    if case .redis = pushBackend {
        // The page says "reconnecting" while Redis is away (the chat itself still runs on the Channel server).
        var lost = false
        gateway.channel.onClose = {
            lost = true
            chatProcess.service?.pushLink(up: false)
        }
        gateway.channel.onConnect = {
            if lost { chatProcess.service?.pushLink(up: true) }
            lost = false
        }
    }
    chatProcess.service = try ChatService(
        loop: worker.loop!,
        workerID: worker.id,
        workerCount: worker.count,
        channel: .server(channelAddress),
        globalData: globalDataAddress,
        gateway: gateway,
        limits: limits
    )
}
chat.onWebSocketConnect = { connection, request in chatProcess.service?.connected(connection, request) }
chat.onMessage = { connection, message in
    let started = MonotonicClock.now()
    let errors = TransportContext.of(connection.loop).statistics.packetErr
    chatProcess.service?.received(message, from: connection)
    // A message the chat refused (too long, a flood, binary) counts as a failed call.
    let refused = TransportContext.of(connection.loop).statistics.packetErr > errors
    push.report("chat", "message", since: started, success: !refused, code: refused ? 400 : 0)
}
chat.onClose = { connection in chatProcess.service?.closed(connection) }

// MARK: - the chat's servers

_ = try ChannelServer(channelAddress)
_ = try GlobalDataServer(globalDataAddress)

// MARK: - statistics and the file monitor

let statistics = try UDPWorker(udp: statisticsAddress)
statistics.name = "statistics"
statistics.count = 1  // one collector, so one file has every report
StatisticsCollector.attach(to: statistics, file: statisticsFile)

// In debug mode (`start`, not `start -d`): editing the page's files reloads the web workers, and
// `swift build` in another terminal rolls every worker onto the new binary.
let monitor = FileMonitor(paths: [publicDirectory], extensions: ["html", "css", "js"])
monitor.watchExecutable = true

Worker.runAll()
