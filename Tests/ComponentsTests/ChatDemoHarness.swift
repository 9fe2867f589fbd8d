// The demo's chat as the tests drive it: the program started on free ports, and chat clients on the
// test's loop that speak the plain path (`ws://HOST:PORT/?name=NAME&room=ROOM`, one line per event).

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// The demo program on free ports, with its own pid and log files.
final class ChatDemo {
    let program: ServerProcess
    let chatPort: Int
    let webPort: Int
    let environment: [String: String]

    /// Starts the demo with `chatCount` chat processes and one web process; `extra` sets its limits.
    init(chatCount: Int, extra: [String: String] = [:]) throws {
        chatPort = try freePort()
        webPort = try freePort()
        var environment = [
            "WEB_PORT": "\(webPort)", "CHAT_PORT": "\(chatPort)", "CHANNEL_PORT": "\(try freePort())",
            "GLOBALDATA_PORT": "\(try freePort())", "WEB_COUNT": "1", "CHAT_COUNT": "\(chatCount)",
            "STATISTICS_PORT": "\(try freeUDPPort())",
        ]
        let directory = try makeTemporaryDirectory("wm-components")
        environment["STATISTICS_FILE"] = "\(directory)/statistics.json"
        environment.merge(extra) { $1 }
        program = try ServerProcess(program: "demo", environment: environment, directory: directory)
        // The directory is the program's; the status command needs the same pid file.
        environment["PID_FILE"] = "\(program.directory)/server.pid"
        self.environment = environment
        // web + chat + the Channel and GlobalData servers + statistics + the file monitor.
        try program.waitForChildren(1 + chatCount + 4)
        // Each chat process binds its own socket (SO_REUSEPORT): clients that came before the last one
        // listens would all go to the others.
        try waitUntil("\(chatCount) chat sockets listening\n\(program.output)") { Self.listeners(on: chatPort) == chatCount }
    }

    /// Listening TCP sockets on 127.0.0.1:`port`, from /proc/net/tcp (one per process with SO_REUSEPORT).
    static func listeners(on port: Int) -> Int {
        // sl local_address rem_address st …: "0100007F:0929 00000000:0000 0A" is 127.0.0.1:2345 listening.
        let hex = String(port, radix: 16, uppercase: true)
        let local = "0100007F:" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        return lines("/proc/net/tcp").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[1] == local && fields[3] == "0A"
        }.count
    }

    func stop() { program.stop() }

    /// The pids of worker `name`'s processes, by their title (`WorkerMan: worker process  chat websocket://…`).
    func workerPIDs(_ name: String) -> Set<pid_t> {
        Set(descendants(of: program.pid).filter { ProcessTable.commandLine(of: $0).contains(" \(name) ") })
    }

    var chatPIDs: Set<pid_t> { workerPIDs("chat") }

    /// `demo status`'s summary row: the packet_err total over every process.
    func packetErrors() throws -> Int {
        let path = "\(program.directory)/status.txt"
        unlink(path)  // `spawn` appends
        let pid = try spawn(builtProgram("demo"), ["status"], environment: environment, output: path)
        guard reap(pid, seconds: 10) == 0 else { throw HarnessError("demo status failed:\n\(readFile(path) ?? "")") }
        // Summary  <memory>  -  -  -  <connections>  <total_request>  <qps>  <packet_err> …
        guard let row = lines(path).first(where: { $0.hasPrefix("Summary") }) else {
            throw HarnessError("no summary row in:\n\(readFile(path) ?? "")")
        }
        let fields = row.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 8, let count = Int(fields[8]) else { throw HarnessError("unreadable summary row: \(row)") }
        return count
    }
}

/// A chat client on the plain path, recording every line it reads.
final class ChatPeer {
    let name: String
    let room: String
    let connection: TCPClient<WebSocketClientCodec>
    private(set) var lines: [String] = []
    private(set) var closed = false
    private(set) var closeCode: Int?

    /// Connects as `name`; a nil `room` leaves the query out (the default room, "lobby"). `json` asks for
    /// the page's format.
    init(_ loop: EventLoop, port: Int, name: String, room: String?, json: Bool = false) throws {
        self.name = name
        self.room = room ?? "lobby"
        let query = "name=\(name)" + (room.map { "&room=\($0)" } ?? "") + (json ? "&format=json" : "")
        connection = try TCPClient<WebSocketClientCodec>(loop: loop, url: "ws://127.0.0.1:\(port)/?\(query)")
        // Weak: the test loop closes what is left when it goes, possibly after this peer is gone.
        connection.onMessage = { [weak self] _, message in
            guard let self else { return }
            self.lines += message.text.split(separator: "\n").map(String.init)
            if self.pid == nil, message.text.hasPrefix("welcome "), let at = message.text.firstRange(of: "pid ") {
                self.pid = pid_t(message.text[at.upperBound...].prefix { $0.isNumber })
            }
        }
        connection.onCodecEvent = { [weak self] _, event in
            if case .close(let code, _) = event { self?.closeCode = code }
        }
        connection.onClose = { [weak self] _ in self?.closed = true }
        connection.connect()
    }

    func send(_ text: String) { connection.send(.text(text)) }

    /// The pid of its chat process, from the welcome line (`welcome NAME to ROOM (worker W, pid P)`).
    private(set) var pid: pid_t?

    /// Whether its own join came back through the Channel server: its process is subscribed to the room.
    var hasJoined: Bool { lines.contains("* \(name) joined \(room)") }

    /// The texts of the chat messages it received live (`[room] name: text`), with their rooms.
    var messages: [(room: String, text: String)] {
        lines.compactMap { line in
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"), let colon = line.firstRange(of: ": ") else { return nil }
            return (String(line[line.index(after: line.startIndex)..<close]), String(line[colon.upperBound...]))
        }
    }

    var history: [String] { lines.filter { $0.hasPrefix("history: ") } }
    var errors: [String] { lines.filter { $0.hasPrefix("error: ") } }

    func forget() { lines.removeAll() }
}
