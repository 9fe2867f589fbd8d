// A real browser against our WebSocket server: headless Chromium loads a page from our HTTP server
// (TCPServer<HTTPServerCodec>), whose script opens ws://127.0.0.1:PORT/ with a sub-protocol, sends a
// text and a binary message, closes, and reports what came back by fetching /report?result=… from the
// same HTTP server. Skipped, with the reason, when no chromium is installed (.ci/run installs it).

import Foundation
import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// The first Chromium on `PATH`, or nil.
let wsChromium: String? = {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
    }
    return nil
}()

@Suite(
    "WebSocket in headless Chromium",
    .enabled(if: wsChromium != nil, "chromium is not installed (apt-get install chromium, see .ci/run)"),
    .timeLimit(.minutes(2))
)
struct WebSocketBrowserTests {
    static func page(port: Int) -> String {
        """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>WebSocket check</title></head>
        <body><p id="status">starting</p>
        <script>
        const results = [];
        function report(value) {
          document.getElementById("status").textContent = value;
          fetch("/report?result=" + encodeURIComponent(value));
        }
        try {
          const ws = new WebSocket("ws://127.0.0.1:\(port)/browser", ["chat"]);
          ws.binaryType = "arraybuffer";
          ws.onopen = () => {
            ws.send("hello from chromium \\u2603");
            ws.send(new Uint8Array([0, 1, 2, 254, 255]).buffer);
          };
          ws.onmessage = (event) => {
            results.push(typeof event.data === "string"
              ? "text:" + event.data
              : "binary:" + Array.from(new Uint8Array(event.data)).join(","));
            if (results.length === 2) ws.close(1000, "done");
          };
          ws.onclose = (event) => {
            report(results.join("|") + "|close:" + event.code + ":" + event.wasClean + ":" + ws.protocol);
          };
          ws.onerror = () => report("error");
        } catch (error) {
          report("exception:" + error);
        }
        </script></body></html>
        """
    }

    @Test("Chromium opens a socket, sends text and binary, gets both back, closes cleanly and reports")
    func chromiumRoundTrip() throws {
        let harness = try WSLoop()
        var serverEvents: [String] = []
        let webSocket = try harness.server(WebSocketServerCodec.self) { server in
            server.onMessage = { connection, message in
                serverEvents.append(message.isText ? "text" : "binary")
                connection.send(message)
            }
            server.onCodecEvent = { connection, event in
                switch event {
                case .handshake(let request?):
                    serverEvents.append("handshake \(request.path) origin \(request.header("Origin") ?? "-")")
                    if request.header("Sec-WebSocket-Protocol")?.contains("chat") == true {
                        connection.codec.responseHeaders = [("Sec-WebSocket-Protocol", "chat")]
                    }
                    connection.acceptWebSocket()
                case .close(let code, let reason): serverEvents.append("close \(code) \(reason)")
                default: break
                }
            }
        }
        var report: String?
        var requests: [String] = []
        let http = try harness.server(HTTPServerCodec.self) { server in
            server.onMessage = { connection, request in
                requests.append(request.path)
                switch request.path {
                case "/":
                    connection.send(.response(HTTPResponse(body: Self.page(port: webSocket.port))))
                case "/report":
                    report = request.query["result"]
                    connection.send(.response(HTTPResponse(body: "thanks")))
                    harness.done()
                default:
                    connection.send(.response(HTTPResponse(status: .notFound, body: "")))
                }
            }
        }
        let profile = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: profile) }
        // No --dump-dom: with it, Chromium exits when its (virtual) time budget runs out, which can come before
        // the page's last fetch. Without it, the page stays open until the report arrives and we kill it.
        let browser = try WSChild(
            [
                wsChromium!, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--user-data-dir=\(profile)",
                "http://127.0.0.1:\(http.port)/",
            ],
            quiet: true,
            ownGroup: true
        )
        defer { browser.kill() }
        try browser.watch(in: harness.loop)
        try harness.run(timeout: 60)
        browser.closeOutput(in: harness.loop)
        #expect(
            report == "text:hello from chromium \u{2603}|binary:0,1,2,254,255|close:1000:true:chat",
            "requests: \(requests)"
        )
        #expect(serverEvents.first?.hasPrefix("handshake /browser origin http://127.0.0.1:") == true, "\(serverEvents)")
        #expect(Array(serverEvents.dropFirst()) == ["text", "binary", "close 1000 done"])
        #expect(harness.transport.statistics.packetErr == 0)
        browser.kill()
        harness.finish()
    }

    static func temporaryDirectory() throws -> String {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? ""
        if base.isEmpty { base = P_tmpdir }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/wm-chromium-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw Errno(rawValue: errno) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
