// The dashboard (Components/Dashboard) as the demo mounts it at /dashboard: its JSON checked against
// `demo status` (the same pids and workers), a chat handler stuck in a loop shown with its callback and
// connection, and the page rendered by headless Chromium (the DOM read back, a screenshot taken).

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// `demo status`'s process rows: pid → worker name.
private func statusRows(_ demo: ChatDemo) throws -> [Int: String] {
    let path = "\(demo.program.directory)/status-rows.txt"
    unlink(path)
    let pid = try spawn(builtProgram("demo"), ["status"], environment: demo.environment, output: path)
    guard reap(pid, seconds: 10) == 0 else { throw HarnessError("demo status failed:\n\(readFile(path) ?? "")") }
    var rows: [Int: String] = [:]
    for line in lines(path) {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        // Process rows have 16 columns (the "N users  N workers" line also starts with a number).
        if fields.count >= 16, let pid = Int(fields[0]) { rows[pid] = String(fields[4]) }
    }
    return rows
}

/// `"pid":N,"worker":"NAME"` pairs of the dashboard's /api/status.
private func dashboardRows(_ json: String) -> [Int: String] {
    var rows: [Int: String] = [:]
    for part in json.split(separator: "{").dropFirst() {
        guard let pidRange = part.firstRange(of: #""pid":"#), let workerRange = part.firstRange(of: #""worker":""#) else { continue }
        let pid = Int(part[pidRange.upperBound...].prefix { $0.isNumber })
        let worker = String(part[workerRange.upperBound...].prefix { $0 != "\"" })
        if let pid { rows[pid] = worker }
    }
    return rows
}

private let chromium: String? = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(findExecutable).first

@Suite(
    "The demo's dashboard",
    .serialized,
    .enabled(if: findExecutable("curl") != nil, "curl is not installed (apt-get install curl)")
)
struct DashboardDemoTests {
    @Test("the same processes as `status`; a stuck handler shown with its callback and connection; rendered in Chromium", .timeLimit(.minutes(3)))
    func dashboard() throws {
        let demo = try ChatDemo(chatCount: 2, extra: ["DEMO_STUCK": "1"])
        defer { demo.stop() }
        let url = "http://127.0.0.1:\(demo.webPort)/dashboard"

        // Same pids, same workers (the dashboard reads the board `status` reads).
        let status = try statusRows(demo)
        #expect(status.count == 7, "web, 2 chat, the Channel and GlobalData servers, statistics, the file monitor: \(status)")
        #expect(dashboardRows(try httpGet(url + "/api/status")) == status)
        #expect(try httpGet(url).contains("<title>Workerman for Swift: dashboard</title>"))

        // A chat handler stuck in a loop: the dashboard says which process, which callback, which connection.
        let testLoop = try TestLoop()
        let peer = try ChatPeer(testLoop.loop, port: demo.chatPort, name: "stuck", room: nil)
        try testLoop.run(until: "the peer's join") { peer.hasJoined }
        guard let stuckPID = peer.pid else { throw HarnessError("no pid in the welcome") }
        peer.send("/stuck 8")
        try testLoop.run(for: 0.1)  // the frame leaves
        var json = ""
        try waitUntil("the dashboard shows pid \(stuckPID) busy:\n\(json)", seconds: 6) {
            json = try httpGet(url + "/api/status")
            return json.contains(#""pid":\#(stuckPID),"#) && json.contains(#""busy":{"callback":"onMessage","subject":"conn "#)
        }
        let stuckRow = try { () throws -> String in
            let path = "\(demo.program.directory)/status-busy.txt"
            let pid = try spawn(builtProgram("demo"), ["status"], environment: demo.environment, output: path)
            _ = reap(pid, seconds: 10)
            return lines(path).first { $0.hasPrefix("\(stuckPID) ") } ?? ""
        }()
        #expect(stuckRow.contains("[busy] onMessage conn "), "status agrees: \(stuckRow)")

        // The page as a browser shows it, while the handler is still stuck.
        guard let chromium else { return }  // the JSON checks above stand; the page needs a browser
        let directory = try makeTemporaryDirectory("wm-dashboard")
        defer { removeDirectory(directory) }
        let arguments = [
            "60", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(directory)/profile", "--virtual-time-budget=4000",
        ]
        let dom = try spawn("/usr/bin/timeout", arguments + ["--dump-dom", url], environment: [:], output: "\(directory)/dom.html")
        _ = reap(dom, seconds: 70)
        let page = readFile("\(directory)/dom.html") ?? ""
        #expect(page.contains("<b>busy</b>: pid \(stuckPID) (chat) in <b>onMessage</b> conn "), "the busy banner in:\n\(page.suffix(3000))")
        for pid in status.keys { #expect(page.contains(">\(pid)</td>"), "pid \(pid) in the page's process table") }
        let shot = try spawn(
            "/usr/bin/timeout",
            arguments + ["--window-size=1400,1200", "--screenshot=\(directory)/dashboard.png", url],
            environment: [:],
            output: "\(directory)/shot.log"
        )
        _ = reap(shot, seconds: 70)
        let size = TestFiles.readBytes("\(directory)/dashboard.png")?.count ?? 0
        #expect(size > 10_000, "a screenshot of the page (\(size) bytes)")
    }
}
