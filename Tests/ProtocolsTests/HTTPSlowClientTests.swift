// The slowloris defence of an HTTP server (what `Worker(http:)` sets up: a minute for a request head), on a
// manual clock, so the minute costs milliseconds and no timing becomes an assertion: a client that stops
// halfway through a request head gets 408 and a close once the minute has passed on the loop's clock (within
// the sweep's second), and not before, while other clients are served; a slow upload whose head is complete is not cut; an idle
// keep-alive connection is left alone. Also ../shared/bench/fault/slowloris.py, briefly (real time), when
// it is there.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP slow clients")
struct HTTPSlowClientTests {
    /// `Worker(http:)`'s head timeout.
    static let headTimeout = 60.0

    /// The test server with `Worker(http:)`'s head timeout and answer.
    static func server(_ harness: WSLoop, log: HTTPServerLog, headTimeout: Double = headTimeout) throws -> TCPServer<HTTPServerCodec> {
        try harness.httpServer(log: log) { server in
            server.partialMessageTimeout = headTimeout
            server.isStalled = { connection in connection.codec.isReceivingHead }
            server.onStalled = { connection in
                connection.sendRaw("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                connection.close()
            }
        }
    }

    /// Whether the server holds a connection with part of a message (so the sweep measures it).
    static func holdsPartialMessage(_ server: TCPServer<HTTPServerCodec>) -> Bool {
        server.connections.values.contains { $0.partialSince != 0 }
    }

    @Test("half a request head gets 408 and a close after the head timeout, not before; others are served meanwhile")
    func slowHead() throws {
        let clock = ManualClock()
        let harness = try WSLoop(clock: clock)
        let log = HTTPServerLog()
        let server = try Self.server(harness, log: log)
        let slow = try RawHTTPClient(harness, port: server.port)
        slow.send("GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        #expect(harness.until { Self.holdsPartialMessage(server) })

        // A normal client asks three times while the slow one hangs, 20 s of loop time apart.
        let normal = try RawHTTPClient(harness, port: server.port)
        // Connected first: the client's connect timeout runs on the same manual clock.
        #expect(harness.until { normal.connection.status == .established })
        for asked in 1...3 {
            clock.advance(by: .seconds(19))
            normal.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(harness.until { normal.responses.count == asked })
        }
        #expect(normal.responses.allSatisfy { $0.status == 200 && $0.text == "hello" })
        clock.advance(by: .milliseconds(2_999))  // 59.999 s since the slow head began
        try harness.harness.tickWithoutBlocking()
        #expect(!slow.closed && slow.responses.isEmpty, "cut before the head timeout")

        // The sweep looks every second at most: a stalled head is cut within a second past the timeout.
        clock.advance(by: .milliseconds(1_001))
        #expect(harness.until { slow.closed })
        #expect(slow.responses.map(\.status) == [408])
        #expect(slow.responses.first?.header("Connection") == "close")
        // The normal client, idle between requests, is not cut by the head timeout.
        clock.advance(by: .seconds(Int64(Self.headTimeout) * 2))
        try harness.harness.tickWithoutBlocking()
        #expect(!normal.closed)
        #expect(log.paths == ["/hello", "/hello", "/hello"])
        normal.connection.close()
        harness.finish()
    }

    @Test("a slow upload with a complete head is not cut by the head timeout")
    func slowBody() throws {
        let clock = ManualClock()
        let harness = try WSLoop(clock: clock)
        let log = HTTPServerLog()
        let server = try Self.server(harness, log: log)
        let client = try RawHTTPClient(harness, port: server.port)
        let body = Array("0123456789".utf8)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.count)\r\n\r\n")
        // One byte every 20 s of loop time: the whole upload takes over three head timeouts.
        for byte in body.dropLast() {
            client.send([byte])
            #expect(harness.until { Self.holdsPartialMessage(server) })
            clock.advance(by: .seconds(20))
            try harness.harness.tickWithoutBlocking()
            #expect(!client.closed, "cut while the body was arriving")
        }
        client.send([body.last!])
        #expect(harness.until { client.responses.count == 1 || client.closed })
        #expect(client.responses.map(\.status) == [200])
        #expect(client.responses.first?.body == body)
        #expect(!client.closed)
        client.connection.close()
        harness.finish()
    }

    @Test("the sweep runs only while a connection waits: an idle server has no timer")
    func noTimerWhenIdle() throws {
        let clock = ManualClock()
        let harness = try WSLoop(clock: clock)
        let server = try Self.server(harness, log: HTTPServerLog())
        let client = try RawHTTPClient(harness, port: server.port)
        client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.until { client.responses.count == 1 })
        let idleTimers = harness.loop.timerCount
        client.send("GET /hello HTTP/1.1\r\nHost: a\r\n")
        #expect(harness.until { Self.holdsPartialMessage(server) })
        #expect(harness.loop.timerCount == idleTimers + 1, "the sweep's timer, while a head is incomplete")
        client.send("\r\n")
        #expect(harness.until { client.responses.count == 2 })
        clock.advance(by: .seconds(Int64(Self.headTimeout)))
        try harness.harness.tickWithoutBlocking()
        #expect(harness.loop.timerCount == idleTimers, "stopped once nobody waits")
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
        // Real time here (the script measures its own): a head timeout it can see within its 1.5 s.
        let server = try Self.server(harness, log: log, headTimeout: 0.3)
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
