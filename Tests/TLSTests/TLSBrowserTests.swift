import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTLS
import WorkermanTestSupport
import WorkermanTransport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real browser over TLS: headless Chromium loads a page from our HTTPS server, and the page opens
/// `wss://` on the same port (the `/ws` route upgraded to a WebSocket), sends a message, and reports the
/// echo and the socket's close by fetching `/report` over HTTPS. Chromium trusts the test's server
/// certificate by its public key (`--ignore-certificate-errors-spki-list`), not by ignoring every error.
final class TLSBrowserTests: XCTestCase {
    private var certificates: TestCertificates!
    private var harness: LoopHarness!

    override func setUpWithError() throws {
        certificates = try TestCertificates.require()
        guard Self.chromium != nil else { throw XCTSkip("chromium is not installed (apt-get install chromium, see .ci/run)") }
        harness = try LoopHarness()
    }

    override func tearDown() {
        if let harness { XCTAssertEqual(harness.finishClosingConnections(), []) }
        harness = nil
    }

    /// The first Chromium on `PATH`, or nil.
    static let chromium: String? = {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] where access("\(folder)/\(name)", X_OK) == 0 {
                return "\(folder)/\(name)"
            }
        }
        return nil
    }()

    static let page = """
        <!doctype html><meta charset="utf-8"><title>https + wss</title>
        <script>
        function report(value) { fetch("/report?result=" + encodeURIComponent(value)); }
        try {
          const ws = new WebSocket(`wss://${location.host}/ws`);
          let echoed = "";
          ws.onopen = () => ws.send("hello over wss \\u2603");
          ws.onmessage = (event) => { echoed = event.data; ws.close(1000, "done"); };
          ws.onclose = (event) => report(location.protocol + "|" + echoed + "|close:" + event.code + ":" + event.wasClean);
          ws.onerror = () => report("error");
        } catch (error) {
          report("exception:" + error);
        }
        </script>
        """

    func testChromiumLoadsAnHTTPSPageAndOpensWSSFromIt() throws {
        let pin = try spkiPin()
        let tls = try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
        let worker = try Worker(http: "127.0.0.1:0", tls: tls)
        var report: String?
        var paths: [String] = []
        var webSocketSecurity: String?
        worker.onMessage = { connection, request in
            paths.append(request.path)
            switch request.path {
            case "/ws":
                guard let ws = connection.upgradeToWebSocket(request) else { return }
                webSocketSecurity = ws.securityDescription
                ws.onMessage = { ws, message in ws.send(.text("echo: \(message.text)")) }
            case "/report":
                report = request.query["result"]
                connection.send(.response(HTTPResponse(body: "thanks")))
            case "/":
                connection.send(.response(HTTPResponse(headers: ["Content-Type": "text/html; charset=utf-8"], body: Self.page)))
            default:
                connection.send(.response(HTTPResponse(status: .notFound, body: "")))
            }
        }
        let server = try worker.serve(on: harness.loop, address: "http://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let profile = try TestFiles.makeTemporaryDirectory("workerman-tls-chromium")
        let log = profile + "/chromium.log"
        let browser = try ChildProcess.spawn(
            Self.chromium!,
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--user-data-dir=\(profile)/profile", "--ignore-certificate-errors-spki-list=\(pin)",
                "https://localhost:\(server.listener!.address.port)/",
            ],
            output: .file(log, append: false),
            ownProcessGroup: true
        )
        // The browser and its helpers (renderer, network service) are one process group of their own.
        defer { ChildProcess.killAndReap(-browser) }
        let reported = try harness.run(until: { report != nil }, within: 60)
        XCTAssertTrue(reported, "no report; requests \(paths); chromium said: \(TestFiles.readText(log)?.suffix(2000) ?? "")")
        XCTAssertEqual(report, "https:|echo: hello over wss \u{2603}|close:1000:true")
        XCTAssertEqual(webSocketSecurity?.hasPrefix("TLSv1.3 "), true, webSocketSecurity ?? "nil")
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 0)
    }

    /// base64(SHA-256(SubjectPublicKeyInfo)) of the server certificate, as Chromium's pin list takes it.
    private func spkiPin() throws -> String {
        let output = certificates.directory + "/spki-\(UInt32.random(in: 0...UInt32.max)).txt"
        let script = "openssl x509 -in '\(certificates.serverCertificate)' -pubkey -noout | openssl pkey -pubin -outform der"
            + " | openssl dgst -sha256 -binary | openssl base64 -A"
        let pid = try ChildProcess.spawn("/bin/sh", ["-c", script], output: .file(output, append: false), errors: .null)
        guard ChildProcess.waitForExit(pid, seconds: 20) == 0, let pin = TestFiles.readText(output), pin.count == 44 else {
            throw XCTSkip("cannot compute the certificate's SPKI hash with openssl")
        }
        return pin
    }
}
