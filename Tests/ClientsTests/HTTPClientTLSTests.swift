import Testing
import WorkermanEventLoop
@testable import WorkermanHTTPClient
import WorkermanProtocols
import WorkermanTLS
import WorkermanTestSupport
import WorkermanTransport

/// The test certificates, when OpenSSL and the `openssl` command are there.
private var certificates: TestCertificates? { TLSLibrary.isAvailable ? try? TestCertificates.shared.get() : nil }

/// A client trusting the test CA only (verification stays on).
private func trustingTestCA(_ certificates: TestCertificates) -> HTTPClientConfiguration {
    var configuration = HTTPClientConfiguration()
    configuration.tls.caFile = certificates.caCertificate
    configuration.tls.useSystemTrustStore = false
    configuration.requestTimeout = 10
    return configuration
}

@Suite("HTTP client over TLS: verification on by default, our server and Python's, clear failures",
       .enabled(if: certificates != nil, "needs OpenSSL 3 and the openssl command"))
struct HTTPClientTLSTests {
    @Test("https to our own TLS server: verified against the test CA, keep-alive reused, ALPN http/1.1")
    func ownServer() throws {
        let certificates = try #require(certificates)
        let fixture = try HTTPClientFixture(configuration: trustingTestCA(certificates))
        defer { fixture.finish() }
        var connects = 0
        let tls = try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
        let server = try fixture.harness.startServer(HTTPServerCodec.self) { server in
            server.security = tls
            server.onConnect = { _ in connects += 1 }
            server.onMessage = { connection, request in
                let stream = connection.byteStream as? TLSStream
                let text = "\(request.method) \(request.path) \(stream?.negotiatedProtocol ?? "none")"
                connection.send(.response(HTTPResponse(headers: ["Content-Type": "text/plain"], body: ByteBuffer(text))))
            }
        }
        let port = server.listener!.address.port
        for _ in 0..<3 {
            #expect(try fixture.get("https://localhost:\(port)/a").get().text == "GET /a http/1.1")
        }
        #expect(try fixture.fetch { fixture.client.post("https://127.0.0.1:\(port)/b", body: .json("{}"), $0) }.get().text == "POST /b http/1.1")
        #expect(connects == 2)  // one per origin (localhost, 127.0.0.1), each reused
    }

    @Test("https to Python's ssl-wrapped http.server; a client certificate when the server asks")
    func pythonServer() throws {
        let certificates = try #require(certificates)
        let server = try PythonHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey))
        defer { server.stop() }
        let fixture = try HTTPClientFixture(configuration: trustingTestCA(certificates))
        defer { fixture.finish() }
        #expect(try fixture.get(server.url("/hello", host: "localhost")).get().text == "hello")
        if let curl = findProgram("curl") {
            // curl agrees the server is sound, so our success is no lenient check's.
            let output = server.directory + "/curl.out"
            let pid = try ChildProcess.spawn(curl, ["-sS", "--cacert", certificates.caCertificate, "-o", output, server.url("/hello", host: "localhost")])
            #expect(ChildProcess.waitForExit(pid, seconds: 20) == 0 && TestFiles.readText(output) == "hello")
        }
        #expect(try fixture.get(server.url("/gzip")).get().text == String(repeating: "compressed ", count: 100))

        let strict = try PythonHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey), clientCA: certificates.caCertificate)
        defer { strict.stop() }
        var withCertificate = trustingTestCA(certificates)
        withCertificate.tls.certificateChain = certificates.clientCertificate
        withCertificate.tls.privateKey = certificates.clientKey
        let identified = try HTTPClientFixture(configuration: withCertificate)
        defer { identified.finish() }
        #expect(try identified.get(strict.url("/client-cert")).get().text == "test-client")
        // Without one the server ends the handshake: a failure, not a hang.
        #expect(try fixture.failure(strict.url("/client-cert")) != nil)
    }

    @Test("https to nginx: 40 requests, 8 at a time, over at most 4 kept-alive TLS connections (counted by nginx)",
          .enabled(if: NginxServer.binary != nil, "nginx is not installed"))
    func nginx() throws {
        let certificates = try #require(certificates)
        let nginx = try NginxServer(tls: (certificates.serverCertificate, certificates.serverKey))
        defer { nginx.stop() }
        var configuration = trustingTestCA(certificates)
        configuration.maxConnectionsPerOrigin = 4
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        var done = 0
        var connections: Set<String> = []
        var failures: [HTTPClientError] = []
        func next() {
            fixture.client.get(nginx.url) { result in
                switch result {
                case .success(let response) where response.text.hasPrefix("nginx body"): connections.insert(response.header("X-Connection") ?? "?")
                case .success(let response): failures.append(HTTPClientError(.invalidResponse, "status \(response.status)"))
                case .failure(let error): failures.append(error)
                }
                done += 1
                if done <= 32 { next() }
            }
        }
        for _ in 0..<8 { next() }
        try fixture.wait("40 responses") { done == 40 }
        #expect(failures.isEmpty, "\(failures)")
        #expect(connections.count <= 4 && !connections.isEmpty)
    }

    @Test("a streamed https body whose consumer asks for each piece later: every pause and resume keeps every byte")
    func streamedOverTLS() throws {
        let certificates = try #require(certificates)
        let server = try PythonHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey))
        defer { server.stop() }
        var configuration = trustingTestCA(certificates)
        configuration.requestTimeout = 60
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        var total = 0
        let loop = fixture.harness.loop
        let result = try fixture.fetch { completion in
            fixture.client.stream(
                try! HTTPClientRequest(url: server.url("/big?mb=8", host: "localhost")), onHead: { _ in },
                onBody: { piece, more in
                    total += piece.readableBytes
                    loop.nextTick { more() }  // always later: the socket is paused and resumed each time
                }, completion)
        }
        #expect(try result.get().status == 200)
        #expect(total == 8 << 20)
    }

    @Test("an untrusted certificate and a wrong host name fail with OpenSSL's reason; insecure opts out")
    func verificationFailures() throws {
        let certificates = try #require(certificates)
        let server = try PythonHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey))
        defer { server.stop() }
        // The system's store does not know the test CA.
        let defaults = try HTTPClientFixture()
        defer { defaults.finish() }
        let untrusted = try #require(try defaults.failure(server.url("/hello")))
        #expect(untrusted.code == .tlsFailed)
        #expect(untrusted.detail.contains("127.0.0.1:\(server.port)") && untrusted.detail.contains("certificate"))

        // A certificate (signed by the trusted CA) for other.test, not for the host asked for.
        let otherName = try PythonHTTPServer(tls: (certificates.otherNameCertificate, certificates.otherNameKey))
        defer { otherName.stop() }
        let fixture = try HTTPClientFixture(configuration: trustingTestCA(certificates))
        defer { fixture.finish() }
        let wrongName = try #require(try fixture.failure(otherName.url("/hello", host: "localhost")))
        #expect(wrongName.code == .tlsFailed && wrongName.detail.contains("localhost"))
        #expect(wrongName.detail.lowercased().contains("mismatch") || wrongName.detail.contains("verify"))

        var insecure = HTTPClientConfiguration()
        insecure.tls = .insecure
        let anyone = try HTTPClientFixture(configuration: insecure)
        defer { anyone.finish() }
        #expect(try anyone.get(otherName.url("/hello", host: "localhost")).get().text == "hello")

        // Plain HTTP server, https URL: a handshake failure, not garbage parsed as a response.
        let plain = try PythonHTTPServer()
        defer { plain.stop() }
        #expect(try fixture.failure("https://127.0.0.1:\(plain.port)/hello")?.code == .tlsFailed)
    }
}

@Test("without OpenSSL, https fails with a clear \"TLS not available\"")
func tlsNotAvailable() {
    #expect(throws: HTTPClientError.self) { try HTTPClientTLSOptions().makeConfiguration(tlsAvailable: false) }
    do {
        _ = try HTTPClientTLSOptions().makeConfiguration(tlsAvailable: false)
    } catch {
        #expect(error.code == .tlsUnavailable && error.detail.hasPrefix("TLS not available"))
    }
}

@Suite("HTTP client through an HTTP proxy (Python): absolute form, CONNECT for https, 407 and 502",
       .enabled(if: PythonHTTPServer.isAvailable, "python3 is not installed"))
struct HTTPClientProxyTests {
    @Test("http goes in absolute form, https through CONNECT with TLS end to end")
    func throughProxy() throws {
        let origin = try PythonHTTPServer()
        defer { origin.stop() }
        let proxy = try PythonHTTPProxy()
        defer { proxy.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.proxy = proxy.url
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        #expect(try fixture.get(origin.url("/hello")).get().text == "hello")
        let echoed = try fixture.fetch { fixture.client.post(origin.url("/echo"), body: .json("{}"), $0) }.get()
        #expect(echoed.text == "POST /echo\napplication/json\nNone\n{}")
        #expect(proxy.requests == ["GET http://127.0.0.1:\(origin.port)/hello", "POST http://127.0.0.1:\(origin.port)/echo"])

        guard let certificates else { return }
        let secure = try PythonHTTPServer(tls: (certificates.serverCertificate, certificates.serverKey))
        defer { secure.stop() }
        var tunnelled = trustingTestCA(certificates)
        tunnelled.proxy = proxy.url
        let tls = try HTTPClientFixture(configuration: tunnelled)
        defer { tls.finish() }
        for _ in 0..<3 { #expect(try tls.get(secure.url("/hello", host: "localhost")).get().text == "hello") }
        #expect(proxy.requests.filter { $0.hasPrefix("CONNECT") } == ["CONNECT localhost:\(secure.port)"])
        // Verification happens through the tunnel too (the certificate is for other.test).
        let otherName = try PythonHTTPServer(tls: (certificates.otherNameCertificate, certificates.otherNameKey))
        defer { otherName.stop() }
        #expect(try tls.failure(otherName.url("/hello", host: "localhost"))?.code == .tlsFailed)
    }

    @Test("proxy credentials are sent as Basic; without them 407 is a clear error; an unreachable origin is 502")
    func refusals() throws {
        let origin = try PythonHTTPServer()
        defer { origin.stop() }
        let proxy = try PythonHTTPProxy(credentials: "ada:s3cret")
        defer { proxy.stop() }
        var anonymous = HTTPClientConfiguration()
        anonymous.proxy = proxy.url
        let refused = try HTTPClientFixture(configuration: anonymous)
        defer { refused.finish() }
        let plain = try #require(try refused.failure(origin.url("/hello")))
        #expect(plain.code == .proxyFailed && plain.detail.contains("407") && plain.detail.contains("credentials needed"))
        let tunnel = try #require(try refused.failure("https://127.0.0.1:\(origin.port)/"))
        #expect(tunnel.code == .proxyFailed && tunnel.detail.contains("407") && tunnel.detail.contains("credentials needed"))

        var authorized = HTTPClientConfiguration()
        authorized.proxy = "http://ada:s3cret@127.0.0.1:\(proxy.port)"
        let fixture = try HTTPClientFixture(configuration: authorized)
        defer { fixture.finish() }
        #expect(try fixture.get(origin.url("/hello")).get().text == "hello")
        let unreachable = try #require(try fixture.failure("https://127.0.0.1:\(try freeLoopbackPort())/"))
        #expect(unreachable.code == .proxyFailed && unreachable.detail.contains("502"))

        var wrong = HTTPClientConfiguration()
        wrong.proxy = "http://ada:nope@127.0.0.1:\(proxy.port)"
        let denied = try HTTPClientFixture(configuration: wrong)
        defer { denied.finish() }
        #expect(try denied.failure("https://127.0.0.1:\(origin.port)/")?.detail.contains("credentials refused") == true)
        #expect(try denied.failure(origin.url("/hello"))?.detail.contains("credentials refused") == true)
        // No proxy listening: a connect failure naming the origin asked for.
        var gone = HTTPClientConfiguration()
        gone.proxy = "http://127.0.0.1:\(try freeLoopbackPort())"
        let nobody = try HTTPClientFixture(configuration: gone)
        defer { nobody.finish() }
        #expect(try nobody.failure(origin.url("/hello"))?.code == .connectFailed)
        #expect(try nobody.failure("https://127.0.0.1:\(origin.port)/")?.code == .connectFailed)
    }
}
