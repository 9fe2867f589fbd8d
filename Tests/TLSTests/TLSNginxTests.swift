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

/// Our TLS client against nginx, a TLS server we did not write: `ssl://` speaking HTTP/1.0 to it, and
/// `wss://` through it (nginx ends TLS and proxies the WebSocket to our plain `ws` echo server in the
/// test's loop). nginx runs in the foreground with a configuration made for the test, on a free port,
/// and is stopped by its pid.
final class TLSNginxTests: XCTestCase {
    private var certificates: TestCertificates!
    private var harness: LoopHarness!
    private var nginx: pid_t = 0
    private var directory = ""

    override func setUpWithError() throws {
        certificates = try TestCertificates.require()
        guard toolExists("nginx") else { throw XCTSkip("nginx is not installed (apt-get install nginx-light, see .ci/run)") }
        harness = try LoopHarness()
        directory = try TestFiles.makeTemporaryDirectory("workerman-tls-nginx")
    }

    override func tearDown() {
        if nginx > 0 { ChildProcess.killAndReap(nginx) }
        if let harness { XCTAssertEqual(harness.finishClosingConnections(), []) }
        harness = nil
        if !directory.isEmpty { TestFiles.removeTree(directory) }
    }

    private func trustingTestCA() throws -> TLSClientConfiguration {
        try TLSClientConfiguration(caFile: certificates.caCertificate, useSystemTrustStore: false)
    }

    /// Starts nginx (one process, in the foreground) serving TLS with the test's server certificate:
    /// `/` answers a fixed text, `/ws` is proxied to `backendPort` with the WebSocket upgrade passed on.
    /// Returns its port once it accepts connections.
    private func startNginx(backendPort: Int = 9) throws -> Int {
        for _ in 0..<3 {
            let port = try FreePort.tcp()
            let configuration = """
                daemon off;
                master_process off;
                worker_processes 1;
                pid \(directory)/nginx.pid;
                error_log \(directory)/error.log info;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path \(directory)/body;
                    proxy_temp_path \(directory)/proxy;
                    fastcgi_temp_path \(directory)/fastcgi;
                    uwsgi_temp_path \(directory)/uwsgi;
                    scgi_temp_path \(directory)/scgi;
                    server {
                        listen 127.0.0.1:\(port) ssl;
                        ssl_certificate \(certificates.serverCertificate);
                        ssl_certificate_key \(certificates.serverKey);
                        ssl_protocols TLSv1.2 TLSv1.3;
                        location = / { return 200 "hello from nginx\\n"; }
                        location /ws {
                            proxy_pass http://127.0.0.1:\(backendPort);
                            proxy_http_version 1.1;
                            proxy_set_header Upgrade $http_upgrade;
                            proxy_set_header Connection "upgrade";
                            proxy_read_timeout 30s;
                        }
                    }
                }
                """
            try TestFiles.write(configuration, to: directory + "/nginx.conf")
            nginx = try ChildProcess.spawn(
                "nginx",
                ["-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"],
                output: .file(directory + "/nginx.out", append: true),
                searchPath: true
            )
            var exited = false
            let listening = try harness.run(
                until: {
                    if case .exited = ChildProcess.reap(self.nginx) {
                        exited = true
                        return true
                    }
                    guard let fd = try? rawConnection(to: port) else { return false }
                    close(fd)
                    return true
                },
                within: 10
            )
            if listening && !exited { return port }
            if !exited { ChildProcess.killAndReap(nginx) }
            nginx = 0
        }
        throw XCTSkip("nginx did not start: \(TestFiles.readText(directory + "/error.log") ?? "")")
    }

    func testSSLClientFetchesFromNginx() throws {
        let port = try startNginx()
        // TextCodec splits lines on "\n" and drops a "\r" before it.
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://localhost:\(port)", tls: trustingTestCA())
        var lines: [String] = []
        var security: String?
        var closed = false
        client.onConnect = { client in
            security = client.securityDescription
            client.send("GET / HTTP/1.0\r\nHost: localhost\r")
            client.send("\r")
        }
        client.onMessage = { _, line in lines.append(line) }
        client.onError = { _, error in lines.append("error \(error)") }
        client.onClose = { _ in closed = true }
        client.connect()
        XCTAssertTrue(try harness.run(until: { closed }, within: 15), "\(lines)")
        XCTAssertEqual(lines.first, "HTTP/1.1 200 OK", "\(lines)")
        XCTAssertEqual(lines.last, "hello from nginx", "\(lines)")
        XCTAssertEqual(security?.hasPrefix("TLSv1.3 TLS_"), true, security ?? "nil")
    }

    func testSSLClientVerifiesNginxCertificateAgainstTheWrongName() throws {
        let port = try startNginx()
        let tls = try TLSClientConfiguration(caFile: certificates.caCertificate, useSystemTrustStore: false, serverName: "other.test")
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://localhost:\(port)", tls: tls)
        var events: [String] = []
        client.onConnect = { _ in events.append("connect") }
        client.onError = { _, error in events.append("error \(error)") }
        client.onClose = { _ in events.append("close") }
        client.connect()
        XCTAssertTrue(try harness.run(until: { events.last == "close" }, within: 15), "\(events)")
        XCTAssertEqual(events.count, 2, "\(events)")
        XCTAssertTrue(events.first?.contains("hostname mismatch") ?? false, "\(events)")
    }

    func testWSSClientThroughNginx() throws {
        let echo = try TCPServer<WebSocketServerCodec>(loop: harness.loop, address: "websocket://127.0.0.1:0")
        var proxied: [String] = []
        echo.onMessage = { connection, message in
            proxied.append(message.text)
            connection.send(.text("echo: \(message.text)"))
        }
        try echo.start()
        harness.onTeardown { echo.closeAll() }
        let port = try startNginx(backendPort: echo.listener!.address.port)
        let client = try TCPClient<WebSocketClientCodec>(loop: harness.loop, url: "wss://localhost:\(port)/ws", tls: trustingTestCA())
        var echoed: [String] = []
        client.onCodecEvent = { client, event in
            if case .handshake = event {
                client.send(.text("one"))
                client.send(.text(String(repeating: "x", count: 40_000)))  // several TLS records
            }
        }
        client.onMessage = { client, message in
            echoed.append(message.text)
            if echoed.count == 2 { client.close() }
        }
        client.onError = { _, error in echoed.append("error \(error)") }
        client.connect()
        XCTAssertTrue(try harness.run(until: { echoed.count >= 2 }, within: 15), "\(echoed)")
        XCTAssertEqual(echoed.first, "echo: one")
        XCTAssertEqual(echoed.dropFirst().first, "echo: " + String(repeating: "x", count: 40_000))
        XCTAssertEqual(proxied.count, 2)
    }
}
