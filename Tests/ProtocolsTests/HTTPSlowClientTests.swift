// The slowloris defence of an HTTP server (what `Worker(http:)` sets up, with a short timeout): a client
// that stops halfway through a request head gets 408 and a close in bounded time while other clients are
// served; a slow upload whose head is complete is not cut; an idle keep-alive connection is left alone.
// Also ../shared/bench/fault/slowloris.py, briefly, when it is there.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP slow clients")
struct HTTPSlowClientTests {
    static let headTimeout = 0.3

    /// The test server with `Worker(http:)`'s head timeout, shortened.
    static func server(_ harness: WSLoop, log: HTTPServerLog) throws -> TCPServer<HTTPServerCodec> {
        try harness.httpServer(log: log) { server in
            server.partialMessageTimeout = headTimeout
            server.isStalled = { connection in connection.codec.isReceivingHead }
            server.onStalled = { connection in
                connection.sendRaw("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                connection.close()
            }
        }
    }

    @Test("half a request head gets 408 and a close in bounded time; a normal client is served meanwhile")
    func slowHead() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try Self.server(harness, log: log)
        let slow = try RawHTTPClient(harness, port: server.port)
        let started = MonotonicClock.now()
        slow.send("GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ")

        // A normal client asks every 50 ms while the slow one hangs.
        let normal = try RawHTTPClient(harness, port: server.port)
        var asked = 0
        var answeredBeforeTimeout = 0
        let asker = try harness.loop.addTimer(every: 0.05) {
            if slow.closed { return }
            if normal.responses.count == asked {
                answeredBeforeTimeout = asked
                normal.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                asked += 1
            }
        }
        #expect(harness.until(5) { slow.closed })
        harness.loop.cancelTimer(asker)
        let elapsed = Double(slow.closedAt - started) / 1e9
        #expect(slow.responses.map(\.status) == [408])
        #expect(slow.responses.first?.header("Connection") == "close")
        #expect(elapsed >= Self.headTimeout && elapsed < Self.headTimeout + 1.5, "closed after \(elapsed) s")
        #expect(answeredBeforeTimeout >= 3, "the normal client was served \(answeredBeforeTimeout) times meanwhile")
        #expect(harness.until { normal.responses.count == asked })
        #expect(normal.responses.allSatisfy { $0.status == 200 && $0.text == "hello" })
        // The normal client, idle between requests, is not cut by the head timeout.
        let idleSince = MonotonicClock.now()
        #expect(!harness.until(Self.headTimeout * 2) { normal.closed })
        #expect(MonotonicClock.now() - idleSince >= UInt64(Self.headTimeout * 1e9))
        #expect(log.paths.allSatisfy { $0 == "/hello" } && log.paths.count == asked)
        normal.connection.close()
        harness.finish()
    }

    @Test("a slow upload with a complete head is not cut by the head timeout")
    func slowBody() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try Self.server(harness, log: log)
        let client = try RawHTTPClient(harness, port: server.port)
        let body = Array("0123456789".utf8)
        let started = MonotonicClock.now()
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.count)\r\n\r\n")
        var sent = 0
        let dripper = try harness.loop.addTimer(every: 0.08) {
            guard sent < body.count else { return }
            client.send([body[sent]])
            sent += 1
        }
        #expect(harness.until(5) { client.responses.count == 1 || client.closed })
        harness.loop.cancelTimer(dripper)
        let elapsed = Double(MonotonicClock.now() - started) / 1e9
        #expect(elapsed > Self.headTimeout * 2, "the upload took only \(elapsed) s")
        #expect(client.responses.map(\.status) == [200])
        #expect(client.responses.first?.body == body)
        #expect(!client.closed)
        client.connection.close()
        harness.finish()
    }

    /// ../shared/bench/fault/slowloris.py next to the package, if present.
    static let slowlorisScript: String? = {
        var path = #filePath
        for _ in 0..<4 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        let script = path + "/shared/bench/fault/slowloris.py"
        return access(script, R_OK) == 0 ? script : nil
    }()

    @Test("slowloris.py: every slow connection closed, normal requests served", .enabled(if: slowlorisScript != nil, "../shared/bench/fault/slowloris.py is not there"))
    func slowlorisScriptRun() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try Self.server(harness, log: log)
        let result = try harness.runChild(
            ["python3", Self.slowlorisScript!, "127.0.0.1:\(server.port)", "--conns", "20", "--duration", "1.5", "--interval", "0.2"],
            timeout: 15
        )
        let output = String(decoding: result.output, as: UTF8.self)
        #expect(result.status == 0, "\(output)")
        #expect(output.contains("server closed 20/20 slow connections"), "\(output)")
        #expect(output.hasSuffix("1 passed, 0 failed\n"), "\(output)")
        harness.finish()
    }
}
