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

/// TLS servers on loopback, driven by real clients (curl, openssl s_client, python3) and by raw sockets
/// sending bad input. The server runs in the test's loop; clients run as child processes.
final class TLSServerTests: TLSLoopTestCase {
    private func tls(timeout: Double = 10, maxHandshakes: Int = 1024) throws -> TLSServerConfiguration {
        try TLSServerConfiguration(
            certificateChain: certificates.serverCertificate,
            privateKey: certificates.serverKey,
            handshakeTimeout: timeout,
            maxConcurrentHandshakes: maxHandshakes
        )
    }

    /// An HTTPS hello-world server; the security of the last request's connection lands in `seen`.
    private func startHTTPS(_ configuration: TLSServerConfiguration, seen: SeenSecurity = SeenSecurity()) throws -> TCPServer<HTTPServerCodec> {
        let worker = try Worker(http: "127.0.0.1:0", tls: configuration)
        worker.onMessage = { connection, request in
            seen.description = connection.securityDescription
            seen.listed = TransportContext.of(connection.loop).connectionListing.first { $0.id == connection.id }?.security
            seen.alpn = (connection.byteStream as? TLSStream)?.negotiatedProtocol
            connection.send(.response(HTTPResponse(body: "hello over tls \(request.path)")))
        }
        let server = try worker.serve(on: harness.loop, address: "http://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        return server
    }

    private func port(_ server: TCPServer<some Codec>) -> Int { server.listener!.address.port }

    // MARK: - Real clients

    func testCurlWithTheTestCA() throws {
        let seen = SeenSecurity()
        let server = try startHTTPS(tls(), seen: seen)
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "https://localhost:\(port(server))/x"],
            in: certificates.directory
        )
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertEqual(run.output, "hello over tls /x")
        XCTAssertEqual(seen.description?.hasPrefix("TLSv1.3 TLS_"), true, seen.description ?? "nil")
        XCTAssertEqual(seen.alpn, "http/1.1")
        XCTAssertEqual(seen.listed, seen.description)
    }

    func testCurlKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try startHTTPS(tls())
        let url = "https://localhost:\(port(server))"
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, url + "/a", url + "/b", url + "/c"],
            in: certificates.directory
        )
        XCTAssertEqual(run.output, "hello over tls /ahello over tls /bhello over tls /c")
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 0)
    }

    func testOpenSSLClientNegotiatesEachVersionAndALPN() throws {
        let server = try startHTTPS(tls())
        for version in ["-tls1_2", "-tls1_3"] {
            let run = try harness.runChild(
                ["openssl", "s_client", "-connect", "127.0.0.1:\(port(server))", version, "-alpn", "http/1.1", "-servername", "localhost",
                 "-CAfile", certificates.caCertificate, "-verify_return_error"],
                in: certificates.directory
            )
            XCTAssertEqual(run.code, 0, run.output)
            XCTAssertTrue(run.output.contains(version == "-tls1_2" ? "Protocol  : TLSv1.2" : "New, TLSv1.3"), run.output)
            XCTAssertTrue(run.output.contains("ALPN protocol: http/1.1"), run.output)
            XCTAssertTrue(run.output.contains("Verify return code: 0 (ok)"), run.output)
        }
    }

    func testOldProtocolVersionsAreRefusedAndCounted() throws {
        let server = try startHTTPS(tls())
        // OpenSSL 3's client refuses TLS 1.0 at security level 1+; level 0 lets it send the old hello.
        let run = try harness.runChild(
            ["openssl", "s_client", "-connect", "127.0.0.1:\(port(server))", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0", "-brief"],
            in: certificates.directory
        )
        XCTAssertNotEqual(run.code, 0, run.output)
        XCTAssertTrue(harness.settle())
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 1)
    }

    func testPythonSSLClient() throws {
        let server = try startHTTPS(tls())
        let script = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[1])
            with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"GET /py HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
                    data = b""
                    while True:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    print(tls.version(), data.split(b"\\r\\n\\r\\n", 1)[1].decode())
            """
        let path = certificates.directory + "/client.py"
        try TestFiles.write(script, to: path)
        let run = try harness.runChild(["python3", path, certificates.caCertificate, String(port(server))], in: certificates.directory)
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertEqual(run.output, "TLSv1.3 hello over tls /py\n")
    }

    // MARK: - Bad input

    func testPlainHTTPToTheTLSPortGetsA400InClearText() throws {
        let server = try startHTTPS(tls())
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "-i", "http://127.0.0.1:\(port(server))/"],
            in: certificates.directory
        )
        XCTAssertTrue(run.output.hasPrefix("HTTP/1.1 400 Bad Request"), run.output)
        XCTAssertTrue(run.output.contains("plain HTTP request was sent to an HTTPS port"), run.output)
        XCTAssertTrue(harness.settle())
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 1)
    }

    func testGarbageHelloClosesAndIsCountedWhileOthersAreServed() throws {
        let server = try startHTTPS(tls())
        let fd = try rawConnection(to: port(server))
        defer { close(fd) }
        let garbage: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x10] + [UInt8](repeating: 0xEE, count: 16)
        XCTAssertEqual(garbage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }, garbage.count)
        XCTAssertTrue(try harness.run(until: { self.harness.transport.statistics.handshakeFailures == 1 }, within: 5))
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "https://localhost:\(port(server))/ok"],
            in: certificates.directory
        )
        XCTAssertEqual(run.output, "hello over tls /ok")
    }

    func testRecordOverSixteenKilobytesIsRefused() throws {
        let server = try startHTTPS(tls())
        let fd = try rawConnection(to: port(server))
        defer { close(fd) }
        // A handshake record announcing 18 KiB: RFC 8446 §5.1 caps a record at 2^14 bytes (+ 256).
        let header: [UInt8] = [0x16, 0x03, 0x03, 0x48, 0x00]
        let oversized = header + [UInt8](repeating: 0x01, count: 0x4800)
        _ = oversized.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
        XCTAssertTrue(try harness.run(until: { self.harness.transport.statistics.handshakeFailures == 1 }, within: 5))
        XCTAssertTrue(try harness.run(until: { server.connections.isEmpty }, within: 5))
    }

    func testResetMidRecordClosesOnlyThatConnection() throws {
        let server = try startHTTPS(tls())
        let fd = try rawConnection(to: port(server))
        // Half a ClientHello record, then a reset (SO_LINGER 0 makes close send RST).
        let partial: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]
        _ = partial.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        XCTAssertTrue(try harness.run(until: { server.connections.count == 1 }, within: 5))
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
        XCTAssertTrue(try harness.run(until: { server.connections.isEmpty }, within: 5))
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 1)
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "https://localhost:\(port(server))/next"],
            in: certificates.directory
        )
        XCTAssertEqual(run.output, "hello over tls /next")
    }

    func testStalledHandshakesAreClosedAtTheTimeoutAndBounded() throws {
        let server = try startHTTPS(tls(timeout: 0.5, maxHandshakes: 4))
        var stalled: [CInt] = []
        defer { stalled.forEach { close($0) } }
        for _ in 0..<6 { stalled.append(try rawConnection(to: port(server))) }
        // Four wait for their hello; the two past the bound wait in the accept queue, not refused.
        XCTAssertTrue(try harness.run(until: { server.connections.count == 4 }, within: 5))
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 0)
        // At the timeout the four are closed, and the two behind them are accepted in turn.
        XCTAssertTrue(try harness.run(until: { self.harness.transport.statistics.handshakeFailures == 4 }, within: 5))
        XCTAssertTrue(try harness.run(until: { server.connections.count == 2 }, within: 5))
        // They stall too, and are closed at their own timeout; a real client then gets through.
        XCTAssertTrue(try harness.run(until: { server.connections.isEmpty }, within: 5))
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 6)
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "https://localhost:\(port(server))/after"],
            in: certificates.directory
        )
        XCTAssertEqual(run.output, "hello over tls /after")
    }

    func testHandshakesPastTheBoundAreDelayedNotRefused() throws {
        let server = try startHTTPS(tls(maxHandshakes: 2))
        // Eight clients at once against a bound of two: each is served, none refused.
        let url = "https://localhost:\(port(server))/many"
        let script = (0..<8).map { _ in "curl -sS --max-time 20 --cacert '\(certificates.caCertificate)' \(url) & " }.joined() + "wait"
        let run = try harness.runChild(["sh", "-c", script], in: certificates.directory, within: 40)
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertEqual(run.output, String(repeating: "hello over tls /many", count: 8))
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 0)
    }

    /// Another child builds its own configuration from the same files: a session from one resumes on the
    /// other, since both derive the same ticket key from their master's secret.
    func testSessionResumesOnAnotherProcessConfiguration() throws {
        MasterSecret.makeForMaster()  // what every child of one master is started with
        let first = try startHTTPS(tls())
        let second = try startHTTPS(tls())
        let session = certificates.directory + "/session-\(UInt32.random(in: 0...UInt32.max)).pem"
        func connect(_ server: TCPServer<HTTPServerCodec>, _ sessionFlag: String) throws -> ChildRun {
            let request = "printf 'GET /r HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'"
            let client = "openssl s_client -connect 127.0.0.1:\(port(server)) -servername localhost -CAfile \(certificates.caCertificate) -ign_eof \(sessionFlag) \(session)"
            return try harness.runChild(["sh", "-c", "\(request) | \(client)"], in: certificates.directory)
        }
        let fresh = try connect(first, "-sess_out")
        XCTAssertTrue(fresh.output.contains("New, TLSv1.3"), fresh.output)
        let resumed = try connect(second, "-sess_in")
        XCTAssertTrue(resumed.output.contains("Reused, TLSv1.3"), resumed.output)
        XCTAssertTrue(resumed.output.contains("hello over tls /r"), resumed.output)
    }

    func testSNIPicksTheCertificateByName() throws {
        let configuration = try tls()
        try configuration.add(
            TLSServerConfiguration(certificateChain: certificates.otherNameCertificate, privateKey: certificates.otherNameKey),
            forServerName: "other.test"
        )
        let server = try startHTTPS(configuration)
        for name in ["other.test", "localhost"] {
            let run = try harness.runChild(
                ["openssl", "s_client", "-connect", "127.0.0.1:\(port(server))", "-servername", name, "-verify_hostname", name,
                 "-CAfile", certificates.caCertificate, "-verify_return_error"],
                in: certificates.directory
            )
            XCTAssertEqual(run.code, 0, run.output)
            XCTAssertTrue(run.output.contains("subject=CN = \(name)"), run.output)
            XCTAssertTrue(run.output.contains("Verify return code: 0 (ok)"), run.output)
        }
    }

    func testRequiredClientCertificateSubjectIsOnTheConnection() throws {
        let configuration = try TLSServerConfiguration(
            certificateChain: certificates.serverCertificate,
            privateKey: certificates.serverKey,
            clientCertificates: .require,
            clientCAFile: certificates.caCertificate
        )
        let worker = try Worker(http: "127.0.0.1:0", tls: configuration)
        worker.onMessage = { connection, _ in connection.send(.response(HTTPResponse(body: connection.tls?.peerSubject ?? "none"))) }
        let server = try worker.serve(on: harness.loop, address: "http://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let url = "https://localhost:\(port(server))/"
        let identified = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "--cert", certificates.clientCertificate,
             "--key", certificates.clientKey, url],
            in: certificates.directory
        )
        XCTAssertEqual(identified.output, "/CN=test-client")
        let anonymous = try harness.runChild(["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, url], in: certificates.directory)
        XCTAssertNotEqual(anonymous.code, 0, anonymous.output)
        XCTAssertTrue(harness.settle())
        XCTAssertEqual(harness.transport.statistics.handshakeFailures, 1)
    }

    func testSecureSchemeWithoutACertificateRefusesToListen() throws {
        let server = try TCPServer<HTTPServerCodec>(loop: harness.loop, address: "https://127.0.0.1:0")
        XCTAssertThrowsError(try server.start()) { XCTAssertTrue("\($0)".contains("needs a certificate"), "\($0)") }
    }

    func testWorkermanFormServesTLS() throws {
        let worker = try Worker(http: "127.0.0.1:0")
        worker.context = ["ssl": ["local_cert": certificates.serverCertificate, "local_pk": certificates.serverKey]]
        worker.transport = "ssl"
        XCTAssertEqual(worker.transport, "ssl")
        worker.onMessage = { connection, _ in connection.send("workerman form") }
        let server = try worker.serve(on: harness.loop, address: "http://127.0.0.1:0")
        harness.onTeardown { server.closeAll() }
        let run = try harness.runChild(
            ["curl", "-sS", "--max-time", "10", "--cacert", certificates.caCertificate, "https://localhost:\(port(server))/"],
            in: certificates.directory
        )
        XCTAssertEqual(run.output, "workerman form")
    }

    func testWorkermanFormWithAMissingCertificateFailsBeforeListening() throws {
        let worker = try Worker(http: "127.0.0.1:0")
        worker.context = ["ssl": ["local_cert": "/nonexistent/site.pem", "local_pk": "/nonexistent/site.key"]]
        worker.transport = "ssl"
        XCTAssertThrowsError(try worker.serve(on: harness.loop, address: "http://127.0.0.1:0")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/site.pem"), "\($0)")
        }
        XCTAssertTrue(harness.transport.liveConnections.isEmpty)
    }
}

/// What the last request's connection said about its security.
final class SeenSecurity {
    var description: String?
    var alpn: String?
    /// The security column `connections` shows for the connection.
    var listed: String?
}
