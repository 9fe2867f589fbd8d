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

/// TLS clients: ours against our own servers, against `openssl s_server`, and failing verification; and
/// `wss://` with Python's websockets.
final class TLSClientTests: TLSLoopTestCase {
    private func serverTLS() throws -> TLSServerConfiguration {
        try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
    }

    private func trustingTestCA() throws -> TLSClientConfiguration {
        try TLSClientConfiguration(caFile: certificates.caCertificate, useSystemTrustStore: false)
    }

    /// A TLS text server that answers each line in capitals.
    private func startTextServer() throws -> TCPServer<TextCodec> {
        let worker = try Worker<TextCodec>("text://127.0.0.1:0", tls: serverTLS())
        worker.onMessage = { connection, line in connection.send(line.uppercased()) }
        let server = try worker.serve(on: harness.loop, address: "text://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        return server
    }

    func testOurClientAgainstOurServer() throws {
        let server = try startTextServer()
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://localhost:\(server.listener!.address.port)", tls: trustingTestCA())
        var events: [String] = []
        client.onConnect = { client in
            events.append("connect \(client.securityDescription ?? "plain")")
            client.send("hello")
        }
        client.onMessage = { client, line in
            events.append(line)
            client.close()
        }
        client.onClose = { _ in events.append("close") }
        client.connect()
        XCTAssertTrue(try harness.run(until: { events.last == "close" }, within: 10), "\(events)")
        XCTAssertEqual(events.count, 3, "\(events)")
        XCTAssertEqual(events.first?.hasPrefix("connect TLSv1.3"), true, "\(events)")
        XCTAssertEqual(events.dropFirst().first, "HELLO")
    }

    func testABurstLargerThanOneReadArrivesWhole() throws {
        // 2,000 lines of 200 bytes sent at once: the server's reads stop for room with records read
        // ahead and not yet decrypted, which no poll announces; each must still arrive.
        let worker = try Worker<TextCodec>("text://127.0.0.1:0", tls: serverTLS())
        var lines = 0
        worker.onMessage = { connection, line in
            lines += 1
            if lines == 2000 { connection.send("all \(line.count)") }
        }
        let server = try worker.serve(on: harness.loop, address: "text://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://localhost:\(server.listener!.address.port)", tls: trustingTestCA())
        var answer: String?
        client.onConnect = { client in
            for _ in 0..<2000 { client.send(String(repeating: "y", count: 200)) }
        }
        client.onMessage = { client, line in
            answer = line
            client.close()
        }
        client.connect()
        XCTAssertTrue(try harness.run(until: { answer != nil }, within: 20), "server saw \(lines) lines")
        XCTAssertEqual(answer, "all 200")
    }

    func testVerificationFailureIsAnErrorNamingTheHostThenClose() throws {
        let server = try startTextServer()
        // The system's trust store does not know the test CA.
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://localhost:\(server.listener!.address.port)", tls: TLSClientConfiguration())
        var events: [String] = []
        client.onConnect = { _ in events.append("connect") }
        client.onError = { _, error in events.append("error \(error)") }
        client.onClose = { _ in events.append("close") }
        client.connect()
        XCTAssertTrue(try harness.run(until: { events.last == "close" }, within: 10), "\(events)")
        XCTAssertEqual(events.count, 2, "\(events)")
        let error = events.first ?? ""
        XCTAssertTrue(error.contains("localhost"), error)
        XCTAssertTrue(error.contains("certificate verify failed"), error)
        XCTAssertTrue(error.contains("unable to get local issuer certificate"), error)
    }

    func testSecureSchemeWithoutTLSFailsClearly() throws {
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://127.0.0.1:9")
        var events: [String] = []
        client.onError = { _, error in events.append("\(error)") }
        client.onClose = { _ in events.append("close") }
        client.connect()
        XCTAssertTrue(try harness.run(until: { events.last == "close" }, within: 5), "\(events)")
        XCTAssertTrue(events.first?.contains("needs TLS") ?? false, "\(events)")
    }

    func testOurClientAgainstOpenSSLServer() throws {
        guard toolExists("openssl") else { throw XCTSkip("openssl is not installed") }
        let log = certificates.directory + "/s_server-\(UInt32.random(in: 0...UInt32.max)).log"
        let pid = try ChildProcess.spawn(
            "openssl",
            ["s_server", "-accept", "0", "-cert", certificates.serverCertificate, "-key", certificates.serverKey, "-rev", "-naccept", "1"],
            output: .file(log, append: false),
            searchPath: true
        )
        defer { ChildProcess.killAndReap(pid) }
        var port = 0
        XCTAssertTrue(
            try harness.run(
                until: {
                    // s_server prints "ACCEPT [::]:PORT" once it listens.
                    guard let line = TestFiles.readText(log)?.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
                          let value = line.split(separator: ":").last.flatMap({ Int($0) })
                    else { return false }
                    port = value
                    return true
                },
                within: 10
            )
        )
        let client = try TCPClient<TextCodec>(loop: harness.loop, url: "ssl://localhost:\(port)", tls: trustingTestCA())
        var answer: String?
        client.onConnect = { client in client.send("hello openssl") }
        client.onMessage = { client, line in
            answer = line
            client.close()
        }
        client.connect()
        XCTAssertTrue(try harness.run(until: { answer != nil }, within: 10))
        XCTAssertEqual(answer, "lssnepo olleh")
    }

    func testWebSocketOverTLSWithOurClient() throws {
        let worker = try Worker(websocket: "127.0.0.1:0", tls: serverTLS())
        worker.onMessage = { connection, message in connection.send(message) }
        let server = try worker.serve(on: harness.loop, address: "websocket://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let client = try TCPClient<WebSocketClientCodec>(loop: harness.loop, url: "wss://localhost:\(server.listener!.address.port)/echo", tls: trustingTestCA())
        var echoed: String?
        client.onCodecEvent = { client, event in if case .handshake = event { client.send(.text("over wss")) } }
        client.onMessage = { client, message in
            echoed = message.text
            client.close()
        }
        client.connect()
        XCTAssertTrue(try harness.run(until: { echoed != nil }, within: 10))
        XCTAssertEqual(echoed, "over wss")
    }

    func testPythonWebSocketsOverWSS() throws {
        let check = try harness.runChild(["python3", "-c", "import websockets"], in: certificates.directory)
        guard check.code == 0 else { throw XCTSkip("python3 websockets is not installed: \(check.output)") }
        let worker = try Worker(websocket: "127.0.0.1:0", tls: serverTLS())
        worker.onMessage = { connection, message in connection.send(.text("echo: \(message.text)")) }
        let server = try worker.serve(on: harness.loop, address: "websocket://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let script = """
            import asyncio, ssl, sys
            import websockets
            async def main():
                context = ssl.create_default_context(cafile=sys.argv[1])
                async with websockets.connect(f"wss://localhost:{sys.argv[2]}/", ssl=context, open_timeout=10) as ws:
                    for text in ("one", "two"):
                        await ws.send(text)
                        print(await asyncio.wait_for(ws.recv(), 10))
            asyncio.run(main())
            """
        let path = certificates.directory + "/wss.py"
        try TestFiles.write(script, to: path)
        let run = try harness.runChild(["python3", path, certificates.caCertificate, String(server.listener!.address.port)], in: certificates.directory)
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertEqual(run.output, "echo: one\necho: two\n")
    }
}
