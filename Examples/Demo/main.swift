// The demo: one program, two workers, supervised processes.
//
//   swift run -c release demo start        (Ctrl-C stops it; `start -d` runs it as a daemon)
//   swift run -c release demo status | reload | stop
//
// - web  http://127.0.0.1:8080  — a page with a chat client, a JSON endpoint (/api/status), and the
//   files under Examples/Demo/public (ETag, Range, 304), in 2 processes;
// - chat ws://127.0.0.1:2346    — a WebSocket chat in 4 processes: a message goes to every client of the
//   process that received it (cross-process broadcast arrives with the Channel component).
//
// HOST, WEB_PORT, CHAT_PORT and PUBLIC_DIR override the defaults.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

func setting(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}

let host = setting("HOST", "127.0.0.1")
let publicDirectory = setting("PUBLIC_DIR", String(#filePath.dropLast("main.swift".count)) + "public")

let web = try Worker(http: "\(host):\(setting("WEB_PORT", "8080"))")
web.name = "web"
web.count = 2
let files = try StaticFiles(root: publicDirectory)
web.onMessage = { connection, request in
    switch request.path {
    case "/hello":
        connection.send("Hello World")
    case "/api/status":
        let body = #"{"pid":\#(getpid()),"worker":"web","id":\#(web.id),"connections":\#(web.connections.count)}"#
        connection.send(.response(HTTPResponse(headers: ["Content-Type": "application/json"], body: body)))
    default:
        if !files.serve(request, on: connection) {
            connection.send(.response(HTTPResponse(status: .notFound, body: "<h3>404 Not Found</h3>")))
        }
    }
}

let chat = try Worker(websocket: "\(host):\(setting("CHAT_PORT", "2346"))")
chat.name = "chat"
chat.count = 4
chat.onWebSocketConnect = { connection, request in
    connection.userInfo["name"] = request.query["name"] ?? "guest\(connection.id)"
}
chat.onMessage = { connection, message in
    let name = connection.userInfo["name"] as? String ?? "guest"
    for peer in chat.connections.values {
        peer.send("\(name): \(message)")
    }
}

Worker.runAll()
