// A WebSocket upgrade from an HTTP route on the same port (`upgradeToWebSocket`), over real loopback
// sockets, one loop per test with a guard timer: pages and `/ws` from one server, frames sent in the same
// write as the upgrade request, a keep-alive request before the upgrade, refusals (426, 400, 503, and a
// pipelined upgrade), the connection counts and listing, closing from the server (closeAll, the closing
// handshake), and the Python `websockets` client against the upgraded route.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// What the upgrade test server saw.
final class UpgradeLog {
    var httpPaths: [String] = []
    var httpCloses = 0
    var httpErrors: [TransportError] = []
    var upgraded: [TCPConnection<WebSocketServerCodec>] = []
    var webSocketMessages: [WebSocketMessage] = []
    var webSocketEvents: [String] = []
    var webSocketCloses = 0
}

extension WSLoop {
    /// An HTTP server on 127.0.0.1 port 0: `/` answers `Hello`, `/slow` answers after 50 ms, `/ws`
    /// upgrades (picking `chat` when offered) to an echo WebSocket; `configure` runs last.
    func upgradeServer(
        log: UpgradeLog,
        configure: (TCPServer<HTTPServerCodec>) -> Void = { _ in }
    ) throws -> TCPServer<HTTPServerCodec> {
        try server(HTTPServerCodec.self) { server in
            server.onClose = { _ in log.httpCloses += 1 }
            server.onError = { _, error in log.httpErrors.append(error) }
            server.onMessage = { connection, request in
                log.httpPaths.append(request.path)
                switch request.path {
                case "/ws" where request.isWebSocketUpgrade:
                    let offered = request.header("Sec-WebSocket-Protocol") ?? ""
                    let headers = offered.contains("chat") ? [("Sec-WebSocket-Protocol", "chat")] : []
                    guard let ws = connection.upgradeToWebSocket(request, headers: headers) else { return }
                    log.upgraded.append(ws)
                    ws.onMessage = { ws, message in
                        log.webSocketMessages.append(message)
                        ws.send(message)
                    }
                    ws.onCodecEvent = { _, event in
                        switch event {
                        case .ping(let payload): log.webSocketEvents.append("ping \(payload.string)")
                        case .pong(let payload): log.webSocketEvents.append("pong \(payload.string)")
                        case .close(let code, let reason): log.webSocketEvents.append("close \(code) \(reason)")
                        case .handshake: log.webSocketEvents.append("handshake")
                        }
                    }
                    ws.onClose = { _ in log.webSocketCloses += 1 }
                case "/slow":
                    _ = try connection.loop.addTimer(after: 0.05) { connection.send("slow") }
                default:
                    connection.send("Hello")
                }
            }
            configure(server)
        }
    }
}

/// A raw client's bytes read as HTTP responses up to and including a 101, then WebSocket frames.
func upgradeSplit(_ bytes: [UInt8]) -> (responses: [WireResponse], frames: [WireFrame], rest: Int) {
    var responses: [WireResponse] = []
    var index = 0
    while bytes.count - index >= 5, bytes[index..<(index + 5)].elementsEqual("HTTP/".utf8) {
        guard let response = WireResponse.parseAll(Array(bytes[index...])).first else { break }
        let headEnd = (index..<(bytes.count - 3)).first {
            bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
        }
        guard let headEnd else { break }
        index = headEnd + 4 + response.body.count
        responses.append(response)
        if response.status == 101 { break }
    }
    let (frames, rest) = wsParseFrames(Array(bytes[index...]))
    return (responses, frames, rest)
}

@Suite("WebSocket upgrade from an HTTP route")
struct WebSocketUpgradeTests {
    static func client(
        _ harness: WSLoop,
        port: Int,
        path: String = "/ws"
    ) throws -> TCPClient<WebSocketClientCodec> {
        try TCPClient<WebSocketClientCodec>(loop: harness.loop, url: "ws://127.0.0.1:\(port)\(path)")
    }

    @Test(
        "one port: a plain GET is answered, /ws upgrades and echoes text and binary, pings both ways",
        arguments: BackendKind.available
    )
    func pagesAndWebSocketOnOnePort(backend: BackendKind) throws {
        let harness = try WSLoop(backend)
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        let page = try RawHTTPClient(harness, port: server.port)
        page.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.until { page.responses.count == 1 })
        #expect(page.responses.first?.status == 200)
        #expect(page.responses.first?.text == "Hello")
        page.connection.close()

        let client = try Self.client(harness, port: server.port)
        client.codec.protocols = ["chat"]
        let sent: [WebSocketMessage] = [.text("κόσμε 😀"), .binary(ByteBuffer(wsPattern(70_000))), .text("")]
        var received: [WebSocketMessage] = []
        var clientEvents: [String] = []
        var selected: String?
        var openConnections = -1
        var listedCodecs: [String] = []
        client.onCodecEvent = { client, event in
            switch event {
            case .handshake:
                selected = client.codec.selectedProtocol
                client.ping(ByteBuffer("from client"))
                for message in sent { client.send(message) }
            case .pong(let payload): clientEvents.append("pong \(payload.string)")
            case .ping(let payload): clientEvents.append("ping \(payload.string)")
            case .close(let code, _): clientEvents.append("close \(code)")
            }
        }
        client.onMessage = { _, message in
            received.append(message)
            guard received.count == sent.count else { return }
            openConnections = harness.transport.statistics.connections
            listedCodecs = harness.transport.connectionListing.map(\.codec)
            #expect(log.upgraded.first?.ping(ByteBuffer("from server")) == .written)
        }
        client.connect()
        #expect(harness.until { received.count == sent.count })
        #expect(
            harness.until { clientEvents.contains("ping from server") && log.webSocketEvents.contains("pong from server") }
        )
        #expect(received == sent)
        #expect(selected == "chat")
        #expect(clientEvents.contains("pong from client"))
        // Two sockets in this process (the client's and the server's), before and after the upgrade.
        #expect(openConnections == 2)
        #expect(listedCodecs.sorted() == ["WebSocketClientCodec", "WebSocketServerCodec"])
        #expect(server.webSocketConnections.count == 1)
        #expect(server.connections.isEmpty, "the HTTP connection left the table when its socket moved")
        // The server ends it with the closing handshake: the client echoes, the server closes.
        log.upgraded.first?.closeWebSocket(code: 4000, reason: "enough")
        #expect(harness.until { log.webSocketCloses == 1 && client.status == .closed })
        harness.settle()
        #expect(clientEvents.contains("close 4000"))
        #expect(log.webSocketEvents.contains("ping from client"))
        #expect(log.webSocketEvents.contains("pong from server"))
        #expect(log.webSocketEvents.contains("close 4000 "), "the client echoes the code alone")
        #expect(log.httpPaths == ["/", "/ws"])
        #expect(log.httpCloses == 1, "only the plain page's connection closed as HTTP")
        #expect(log.webSocketCloses == 1)
        #expect(server.webSocketConnections.isEmpty)
        #expect(harness.transport.statistics.connections == 0)
        #expect(harness.transport.statistics.packetErr == 0)
        #expect(log.httpErrors.isEmpty, "\(log.httpErrors)")
        log.upgraded = []
        harness.finish()
    }

    @Test("frames written with the upgrade request, and a keep-alive request before it, all arrive in order")
    func framesBehindTheRequest() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        let peer = try RawHTTPClient(harness, port: server.port)
        // A keep-alive request first, answered, on the same connection.
        peer.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(harness.until { peer.responses.count == 1 })
        // Then, in one write: another request, the upgrade, and frames right behind it (text, binary,
        // a ping, a fragmented text), which must reach the WebSocket, not the HTTP parser.
        let frames =
            wsFrame(WS.text, "one") + wsFrame(WS.binary, wsPattern(300)) + wsFrame(WS.ping, "p")
            + wsFrame(WS.text, "tw", fin: false) + wsFrame(WS.continuation, "o")
        peer.send(Array("GET /second HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + wsUpgradeRequest(target: "/ws") + frames)
        #expect(harness.until { upgradeSplit(peer.received).frames.count == 4 })
        let (responses, echoed, rest) = upgradeSplit(peer.received)
        #expect(responses.map(\.status) == [200, 200, 101])
        #expect(responses.map(\.text) == ["Hello", "Hello", ""])
        #expect(responses.last?.header("Sec-WebSocket-Accept") == WS.sampleAccept)
        #expect(echoed.map(\.opcode) == [WS.text, WS.binary, WS.pong, WS.text])
        #expect(echoed.map(\.maskKey) == [nil, nil, nil, nil])
        #expect(echoed.first?.text == "one")
        #expect(echoed.count > 1 && echoed[1].payload == wsPattern(300))
        #expect(echoed.last?.text == "two")
        #expect(rest == 0)
        #expect(log.httpPaths == ["/first", "/second", "/ws"])
        #expect(log.webSocketMessages == [.text("one"), .binary(ByteBuffer(wsPattern(300))), .text("two")])
        #expect(log.webSocketEvents == ["ping p"])
        peer.connection.close()
        #expect(harness.until { log.webSocketCloses == 1 })
        #expect(log.httpCloses == 0)
        #expect(harness.transport.statistics.packetErr == 0)
        log.upgraded = []
        harness.finish()
    }

    @Test("an upgrade request split over two reads, frames behind its end: the buffered path hands them over too")
    func splitRequestThenFrames() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        let peer = try RawHTTPClient(harness, port: server.port)
        let request = wsUpgradeRequest(target: "/ws")
        peer.send(Array(request.prefix(40)))
        // The first part waits in the connection's buffer, so the rest is parsed from there.
        #expect(harness.until { server.connections.values.first?.receiveBufferQueueSize == 40 })
        let partialFrame = Array(wsFrame(WS.text, "c").prefix(3))
        peer.send(Array(request.dropFirst(40)) + wsFrame(WS.text, "a") + wsFrame(WS.text, "b") + partialFrame)
        #expect(harness.until { upgradeSplit(peer.received).frames.count == 2 })
        #expect(log.upgraded.first?.receiveBufferQueueSize == 3, "the partial frame waits in the WebSocket's buffer")
        peer.send(Array(wsFrame(WS.text, "c").dropFirst(3)))
        #expect(harness.until { upgradeSplit(peer.received).frames.count == 3 })
        let (responses, echoed, rest) = upgradeSplit(peer.received)
        #expect(responses.map(\.status) == [101])
        #expect(echoed.map(\.text) == ["a", "b", "c"])
        #expect(rest == 0)
        peer.connection.close()
        #expect(harness.until { log.webSocketCloses == 1 })
        log.upgraded = []
        harness.finish()
    }

    @Test("a route that decides later: onMessage pauses, a timer upgrades, and the frames that waited arrive")
    func upgradeDecidedLater() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        var greeted: SendResult?
        let server = try harness.upgradeServer(log: log) { server in
            server.onMessage = { connection, request in
                connection.pauseReceiving()
                _ = try connection.loop.addTimer(after: 0.02) {
                    guard let ws = connection.upgradeToWebSocket(request) else { return }
                    log.upgraded.append(ws)
                    // Sent before the frames that waited are processed: it goes out first, after the 101.
                    greeted = ws.send("welcome")
                    ws.onMessage = { ws, message in ws.send(message) }
                    ws.onClose = { _ in log.webSocketCloses += 1 }
                }
            }
        }
        let peer = try RawHTTPClient(harness, port: server.port)
        peer.send(wsUpgradeRequest(target: "/ws") + wsFrame(WS.text, "one") + wsFrame(WS.text, "two"))
        #expect(harness.until { upgradeSplit(peer.received).frames.count == 3 })
        let (responses, echoed, _) = upgradeSplit(peer.received)
        #expect(responses.map(\.status) == [101])
        #expect(echoed.map(\.text) == ["welcome", "one", "two"])
        #expect(greeted == .written)
        peer.connection.close()
        #expect(harness.until { log.webSocketCloses == 1 })
        #expect(log.httpCloses == 0)
        log.upgraded = []
        harness.finish()
    }

    @Test("the HTTP connection is finished after the upgrade: its sends fail and its onClose never fires")
    func httpConnectionIsFinished() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        var afterwards: [SendResult] = []
        var ids: [Int] = []
        let server = try harness.upgradeServer(log: log) { server in
            server.onMessage = { connection, request in
                connection.userInfo["user"] = "ada"
                guard let ws = connection.upgradeToWebSocket(request) else { return }
                log.upgraded.append(ws)
                ids = [connection.id, ws.id]
                afterwards.append(connection.send("too late"))
                afterwards.append(connection.sendRaw("too late"))
                connection.close()  // does nothing to the socket the WebSocket now owns
                ws.onMessage = { ws, message in ws.send(.text("\(ws.userInfo["user"] ?? "?"): \(message)")) }
                ws.onClose = { _ in log.webSocketCloses += 1 }
            }
        }
        let client = try Self.client(harness, port: server.port)
        var replies: [String] = []
        client.onCodecEvent = { client, event in if case .handshake = event { client.send("hi") } }
        client.onMessage = { client, message in
            replies.append(message.text)
            client.close()
        }
        client.connect()
        #expect(harness.until { log.webSocketCloses == 1 })
        #expect(replies == ["ada: hi"])
        #expect(afterwards == [.failed, .failed])
        #expect(ids.count == 2 && ids[0] != ids[1])
        #expect(log.httpCloses == 0)
        #expect(harness.transport.statistics.connections == 0)
        log.upgraded = []
        harness.finish()
    }

    @Test(
        "an invalid upgrade is answered as the websocket:// handshake answers it, counted, and closes",
        arguments: [
            (wsUpgradeRequest(target: "/ws", version: "8"), 426),
            (wsUpgradeRequest(target: "/ws", key: nil), 400),
            (wsUpgradeRequest(target: "/ws", key: "c2hvcnQ="), 400),
            (wsUpgradeRequest(method: "POST", target: "/ws"), 400),
            (wsUpgradeRequest(target: "/ws", httpVersion: "HTTP/1.0"), 400),
        ]
    )
    func invalidUpgradeIsRefused(request: [UInt8], status: Int) throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        let peer = try RawHTTPClient(harness, port: server.port)
        peer.send(request)
        #expect(harness.until { peer.closed })
        let responses = peer.responses
        #expect(responses.map(\.status) == [status])
        #expect(responses.first?.header("Connection") == "close")
        if status == 426 { #expect(responses.first?.header("Sec-WebSocket-Version") == "13") }
        #expect(log.upgraded.isEmpty)
        #expect(log.httpErrors.map(\.code) == [.protocolError])
        #expect(harness.transport.statistics.packetErr == 1)
        harness.settle()
        #expect(harness.transport.statistics.connections == 0)
        #expect(log.httpCloses == 1, "a refused upgrade stays an HTTP connection, closed as HTTP")
        harness.finish()
    }

    @Test("an upgrade pipelined behind an unanswered request: that response comes with Connection: close, no 101")
    func pipelinedUpgradeIsRefused() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        let peer = try RawHTTPClient(harness, port: server.port)
        let slow = Array("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        peer.send(slow + wsUpgradeRequest(target: "/ws") + wsFrame(WS.text, "lost"))
        #expect(harness.until { peer.closed })
        let responses = peer.responses
        #expect(responses.map(\.status) == [200])
        #expect(responses.first?.text == "slow")
        #expect(responses.first?.header("Connection") == "close")
        #expect(log.upgraded.isEmpty)
        #expect(log.httpErrors.map(\.code) == [.protocolError])
        #expect(log.httpErrors.first?.detail?.contains("pipelined") == true, "\(log.httpErrors)")
        #expect(harness.transport.statistics.packetErr == 1)
        harness.finish()
    }

    @Test("a connection draining for a stop or reload answers an upgrade with 503")
    func drainingRefusesWith503() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        let peer = try RawHTTPClient(harness, port: server.port)
        // Half a request in: the connection is not idle, so a drain marks it and waits for the rest.
        let request = wsUpgradeRequest(target: "/ws")
        peer.send(Array(request.prefix(20)))
        #expect(harness.until { server.connections.values.first?.receiveBufferQueueSize == 20 })
        for connection in server.connections.values { connection.closeWhenIdle() }
        peer.send(Array(request.dropFirst(20)))
        #expect(harness.until { peer.closed })
        #expect(peer.responses.map(\.status) == [503])
        #expect(peer.responses.first?.header("Connection") == "close")
        #expect(log.upgraded.isEmpty)
        #expect(harness.transport.statistics.packetErr == 1)
        harness.finish()
    }

    @Test("closeAll closes upgraded connections too, and the server's counts return to zero")
    func closeAllClosesUpgraded() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log)
        var clients: [TCPClient<WebSocketClientCodec>] = []
        var open = 0
        var closed = 0
        for _ in 0..<3 {
            let client = try Self.client(harness, port: server.port)
            client.onCodecEvent = { _, event in if case .handshake = event { open += 1 } }
            client.onClose = { _ in closed += 1 }
            client.connect()
            clients.append(client)
        }
        #expect(harness.until { open == 3 && server.webSocketConnections.count == 3 })
        #expect(harness.transport.statistics.connections == 6)
        #expect(harness.transport.liveConnections.count == 6)
        server.closeAll()
        #expect(harness.until { closed == 3 && log.webSocketCloses == 3 })
        #expect(server.handedOverConnections.isEmpty)
        harness.settle()
        #expect(harness.transport.statistics.connections == 0)
        #expect(log.httpCloses == 0)
        log.upgraded = []
        clients = []
        harness.finish()
    }
}

@Suite(
    "WebSocket upgrade interop with Python websockets",
    .enabled(if: wsPythonWebsockets != nil, "python3 cannot import websockets (python3 -m pip install websockets)"),
    .timeLimit(.minutes(2))
)
struct WebSocketUpgradeInteropTests {
    @Test("a Python websockets client against an HTTP server's upgraded /ws route")
    func pythonClientAgainstUpgradedRoute() throws {
        let harness = try WSLoop()
        let log = UpgradeLog()
        let server = try harness.upgradeServer(log: log) { server in server.maxPackageSize = 2 << 20 }
        let url = "ws://127.0.0.1:\(server.port)/ws"
        try WebSocketInteropTests.expectClientScriptPasses(harness, url: url)
        #expect(log.webSocketMessages.count == 4)
        #expect(log.webSocketEvents == ["ping are you there", "close 1000 "])
        #expect(harness.transport.statistics.packetErr == 0)
        log.upgraded = []
        harness.finish()
    }
}
