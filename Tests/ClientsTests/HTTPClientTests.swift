import Testing
import WorkermanEventLoop
import WorkermanHTTPClient
import WorkermanTLS
import WorkermanTestSupport
import WorkermanTransport

/// One test's loop and client; `fetch` runs a request to completion.
final class HTTPClientFixture {
    let harness: LoopHarness
    let client: HTTPClient

    init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws {
        harness = try LoopHarness()
        client = HTTPClient(loop: harness.loop, configuration: configuration)
    }

    func wait(_ what: String, seconds: Double = 15, _ condition: () -> Bool) throws {
        guard try harness.run(until: condition, within: seconds, interval: 0.001) else { throw TestError("timed out waiting for \(what)") }
    }

    func fetch(_ body: (@escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void) -> Void) throws -> Result<HTTPClientResponse, HTTPClientError> {
        var result: Result<HTTPClientResponse, HTTPClientError>?
        body { result = $0 }
        try wait("a response") { result != nil }
        return result!
    }

    func get(_ url: String) throws -> Result<HTTPClientResponse, HTTPClientError> {
        try fetch { client.get(url, $0) }
    }

    func failure(_ url: String) throws -> HTTPClientError? {
        if case .failure(let error) = try get(url) { return error }
        return nil
    }

    func finish() {
        client.close()
        _ = try? harness.run(until: { TransportContext.of(self.harness.loop).liveConnections.isEmpty }, within: 3)
        harness.loop.close()
    }
}

@Suite("HTTP client against Python's http.server: framing, bodies, redirects, compression, bad servers",
       .enabled(if: PythonHTTPServer.isAvailable, "python3 is not installed"))
struct HTTPClientTests {
    @Test("keep-alive reuse is counted by the server; query and headers are sent")
    func keepAlive() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        for round in 1...5 {
            let response = try fixture.get(server.url("/hello")).get()
            #expect(response.status == 200 && response.text == "hello")
            #expect(response.header("X-Requests") == String(round))
        }
        #expect(fixture.client.connectionCounts(origin: "http://127.0.0.1:\(server.port)").opened == 1)
        let echoed = try fixture.fetch { fixture.client.get(server.url("/echo?a=1"), headers: [("X-Custom", "yes")], query: [("q", "swift nio"), ("π", "&")], $0) }.get()
        #expect(echoed.text.hasPrefix("GET /echo?a=1&q=swift%20nio&%CF%80=%26\nNone\nyes\n"))
    }

    @Test("bodies: bytes, form, JSON and multipart arrive as sent")
    func bodies() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        let form = try fixture.fetch { fixture.client.post(server.url("/echo"), body: .form([("name", "Ada Lovelace"), ("x", "1&2")]), $0) }.get()
        #expect(form.text == "POST /echo\napplication/x-www-form-urlencoded\nNone\nname=Ada%20Lovelace&x=1%262")
        let json = try fixture.fetch { fixture.client.post(server.url("/echo"), body: .json(#"{"a":1}"#), $0) }.get()
        #expect(json.text == "POST /echo\napplication/json\nNone\n{\"a\":1}")
        let bytes = try fixture.fetch { fixture.client.post(server.url("/echo"), body: .bytes(ByteBuffer([0, 1, 255]), contentType: "application/x-test"), $0) }.get()
        #expect(Array(bytes.body.bytes.suffix(3)) == [0, 1, 255])
        let parts = [HTTPMultipartPart(name: "field", content: ByteBuffer("value")),
                     HTTPMultipartPart(name: "file", filename: "a.txt", contentType: "text/plain", content: ByteBuffer("file body"))]
        let multipart = try fixture.fetch { fixture.client.post(server.url("/echo"), body: .multipart(parts), $0) }.get()
        #expect(multipart.text.contains("multipart/form-data; boundary=wm-"))
        #expect(multipart.text.contains("Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n"))
        var put = try HTTPClientRequest(method: "PUT", url: server.url("/echo"), body: .json("[]"))
        put.headers.append(("X-Custom", "put"))
        #expect(try fixture.fetch { fixture.client.request(put, $0) }.get().text == "PUT /echo\napplication/json\nput\n[]")
    }

    @Test("chunked with extensions and trailers, close-delimited, 1xx, HEAD, 204 and 304")
    func framing() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        #expect(try fixture.get(server.url("/chunked")).get().text == "hello, world")
        #expect(try fixture.get(server.url("/close")).get().text == "until the close")
        let interim = try fixture.get(server.url("/interim")).get()
        #expect(interim.status == 200 && interim.text == "ok")
        let head = try fixture.fetch { fixture.client.request(try! HTTPClientRequest(method: "HEAD", url: server.url("/hello")), $0) }.get()
        #expect(head.status == 200 && head.body.readableBytes == 0 && head.header("Content-Length") == "5")
        #expect(try fixture.get(server.url("/204")).get().status == 204)
        let notModified = try fixture.get(server.url("/304")).get()
        #expect(notModified.status == 304 && notModified.body.readableBytes == 0)
        // After all that the connection still works.
        #expect(try fixture.get(server.url("/hello")).get().text == "hello")
    }

    @Test("redirects: 303 turns POST into GET, 307 keeps method and body, a loop stops at the limit")
    func redirects() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        let seeOther = try fixture.fetch { fixture.client.post(server.url("/redirect?code=303&to=/echo"), body: .json("{}"), $0) }.get()
        #expect(seeOther.text == "GET /echo\nNone\nNone\n" && seeOther.url.target == "/echo")
        let temporary = try fixture.fetch { fixture.client.post(server.url("/redirect?code=307&to=/echo"), body: .json("{}"), $0) }.get()
        #expect(temporary.text == "POST /echo\napplication/json\nNone\n{}")
        let permanent = try fixture.fetch { fixture.client.post(server.url("/redirect?code=308&to=/echo"), body: .form([("a", "b")]), $0) }.get()
        #expect(permanent.text == "POST /echo\napplication/x-www-form-urlencoded\nNone\na=b")
        let found = try fixture.fetch { fixture.client.post(server.url("/redirect?code=302&to=/echo"), body: .json("{}"), $0) }.get()
        #expect(found.text == "GET /echo\nNone\nNone\n")
        var put = try HTTPClientRequest(method: "PUT", url: server.url("/redirect?code=303&to=/echo"), body: .json("{}"))
        put.headers.append(("X-Custom", "kept"))
        #expect(try fixture.fetch { fixture.client.request(put, $0) }.get().text == "GET /echo\nNone\nkept\n")
        let relative = try fixture.get(server.url("/redirect?code=301&to=hello")).get()
        #expect(relative.text == "hello")
        #expect(try fixture.failure(server.url("/loop"))?.code == .tooManyRedirects)
    }

    @Test("gzip and deflate bodies are decoded")
    func compression() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        #expect(try fixture.get(server.url("/gzip")).get().text == String(repeating: "compressed ", count: 100))
        #expect(try fixture.get(server.url("/deflate")).get().text == String(repeating: "deflated ", count: 100))
    }

    @Test("bad servers end their request with a clear error; the client goes on")
    func badServers() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.requestTimeout = 1
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        let origin = "http://127.0.0.1:\(server.port)"
        let stalled = try fixture.failure(server.url("/stall"))
        #expect(stalled?.code == .timeout && stalled?.detail.contains(origin) == true)
        #expect(try fixture.failure(server.url("/bighead"))?.code == .tooLarge)
        #expect(try fixture.failure(server.url("/big?mb=20"))?.code == .tooLarge)  // over the 16 MiB body limit
        #expect(try fixture.failure(server.url("/badchunk"))?.code == .invalidResponse)
        #expect(try fixture.failure(server.url("/hugechunk")) != nil)
        #expect(try fixture.failure(server.url("/smuggle"))?.code == .invalidResponse)
        let garbage = try fixture.failure(server.url("/garbage"))
        #expect(garbage?.code == .invalidResponse && garbage?.detail.contains(origin) == true)
        #expect(try fixture.failure(server.url("/reset"))?.code == .connectionClosed)
        // A body longer than its Content-Length: the response is taken, the connection is not reused.
        let before = fixture.client.connectionCounts(origin: origin).opened
        #expect(try fixture.get(server.url("/longer")).get().text == "hello")
        #expect(try fixture.get(server.url("/hello")).get().text == "hello")
        #expect(fixture.client.connectionCounts(origin: origin).opened == before + 2)
        let refused = try fixture.failure("http://127.0.0.1:\(try freeLoopbackPort())/")
        #expect(refused?.code == .connectFailed)
        // https to a plain server: the handshake fails clearly (or, without OpenSSL, TLS is not available).
        let tls = try fixture.failure("https://127.0.0.1:\(server.port)/")
        if TLSLibrary.isAvailable {
            #expect(tls?.code == .tlsFailed && tls?.detail.contains("https://127.0.0.1:\(server.port)") == true)
        } else {
            #expect(tls?.code == .tlsUnavailable && tls?.detail.contains("TLS not available") == true)
        }
        #expect(try fixture.failure("ftp://example.com/")?.code == .invalidURL)
    }

    @Test("a pool exhausted by slow responses queues up to its bound, then refuses")
    func poolExhaustion() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxConnectionsPerOrigin = 2
        configuration.maxQueuedRequests = 3
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        var results: [Result<HTTPClientResponse, HTTPClientError>] = []
        for _ in 0..<6 { fixture.client.get(server.url("/slow?s=0.3")) { results.append($0) } }
        try fixture.wait("six answers") { results.count == 6 }
        let refused = results.filter { if case .failure(let error) = $0 { error.code == .queueFull } else { false } }
        #expect(refused.count == 1)
        #expect(results.filter { (try? $0.get())?.text == "slow" }.count == 5)
        #expect(fixture.client.connectionCounts(origin: "http://127.0.0.1:\(server.port)").opened == 2)
    }
}

@Suite("HTTP client against nginx", .enabled(if: NginxServer.binary != nil, "nginx is not installed"))
struct HTTPClientNginxTests {
    @Test("100 requests, 10 at a time, over at most 4 kept-alive connections (counted by nginx)")
    func keepAliveWithNginx() throws {
        let nginx = try NginxServer()
        defer { nginx.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxConnectionsPerOrigin = 4
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        var done = 0
        var connections: Set<String> = []
        var maxRequests = 0
        func next() {
            fixture.client.get(nginx.url) { result in
                if let response = try? result.get(), response.text.hasPrefix("nginx body") {
                    connections.insert(response.header("X-Connection") ?? "?")
                    maxRequests = max(maxRequests, Int(response.header("X-Requests") ?? "0") ?? 0)
                }
                done += 1
                if done <= 90 { next() }
            }
        }
        for _ in 0..<10 { next() }
        try fixture.wait("100 responses") { done == 100 }
        #expect(connections.count <= 4)
        #expect(maxRequests >= 25)
    }
}
