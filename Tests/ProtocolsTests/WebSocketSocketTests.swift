// The WebSocket codecs on real loopback sockets, one event loop per test with a guard timer, servers on
// port 0: our server against our client, protocol violations counted as packet_err without disturbing
// other connections, resets mid-frame, the handshake left to an onCodecEvent hook (how a Worker's
// onWebSocketConnect refuses or picks a sub-protocol), the server's closing handshake, keep-alive pings
// and reconnecting.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("WebSocket over loopback sockets")
struct WebSocketSocketTests {
    /// An echo server: every message goes back as it came (text stays text, binary stays binary).
    static func echoServer(
        _ harness: WSLoop,
        configure: (TCPServer<WebSocketServerCodec>) -> Void = { _ in }
    ) throws
        -> TCPServer<WebSocketServerCodec>
    {
        try harness.server(WebSocketServerCodec.self) { server in
            server.onMessage = { connection, message in connection.send(message) }
            configure(server)
        }
    }

    static func client(
        _ harness: WSLoop,
        _ server: TCPServer<WebSocketServerCodec>,
        path: String = "/"
    ) throws
        -> TCPClient<WebSocketClientCodec>
    {
        try TCPClient<WebSocketClientCodec>(loop: harness.loop, url: "ws://127.0.0.1:\(server.port)\(path)")
    }

    static func raw(_ harness: WSLoop, _ server: TCPServer<WebSocketServerCodec>) throws -> TCPClient<RawCodec>
    {
        try TCPClient<RawCodec>(loop: harness.loop, url: "tcp://127.0.0.1:\(server.port)")
    }

    @Test(
        "our client and server echo text and binary, small and large, held sends first",
        arguments: BackendKind.available
    )
    func echo(backend: BackendKind) throws {
        let harness = try WSLoop(backend)
        var serverClosed = 0
        let server = try Self.echoServer(harness) { server in
            server.onClose = { _ in
                serverClosed += 1
                if serverClosed == 1 { harness.done() }
            }
        }
        let client = try Self.client(harness, server, path: "/echo?x=1")
        let large = wsPattern(1 << 20, seed: 1)
        let sent: [WebSocketMessage] = [
            .text("held before connect"), .text("κόσμε 😀"), .binary(ByteBuffer(wsPattern(70_000))),
            .binary(ByteBuffer(large)),
            .text(""), .binary(ByteBuffer()),
        ]
        var received: [WebSocketMessage] = []
        client.onMessage = { client, message in
            received.append(message)
            if received.count == sent.count { client.close() }
        }
        var opened = false
        client.onCodecEvent = { client, event in
            if case .handshake = event {
                opened = true
                for message in sent.dropFirst() { client.send(message) }
            }
        }
        #expect(client.send(sent[0]) == .queued)
        client.connect()
        try harness.run()
        #expect(opened)
        #expect(received.count == sent.count)
        #expect(received == sent)
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }

    @Test("a protocol violation is answered with its close code, counted as packet_err, and no one else notices")
    func violationIsCounted() throws {
        let harness = try WSLoop()
        var errors: [TransportError] = []
        let server = try Self.echoServer(harness) { server in
            server.onError = { _, error in errors.append(error) }
        }
        // A well-behaved client that keeps talking before and after the bad one is thrown out.
        let good = try Self.client(harness, server)
        var goodReceived: [String] = []
        var badReceived: [UInt8] = []
        let bad = try Self.raw(harness, server)
        bad.onMessage = { _, bytes in badReceived += bytes.bytes }
        bad.onClose = { _ in good.send("after") }
        good.onMessage = { good, message in
            goodReceived.append(message.text)
            if message.text == "before" {
                // Upgrade, one good frame, then an unmasked one (§5.1: a protocol error).
                bad.send(
                    ByteBuffer(wsUpgradeRequest() + wsFrame(WS.text, "fine") + wsFrame(WS.text, "naked", mask: nil))
                )
                bad.connect()
            } else {
                good.close()
            }
        }
        good.onClose = { _ in harness.done() }
        good.onCodecEvent = { good, event in if case .handshake = event { good.send("before") } }
        good.connect()
        try harness.run()
        #expect(goodReceived == ["before", "after"])
        let (head, frames, _) = wsSplitResponse(ByteBuffer(badReceived))
        #expect(wsStatus(head) == 101)
        #expect(frames.map(\.opcode) == [WS.text, WS.close])
        #expect(frames.first?.text == "fine")
        #expect(frames.last?.closeCode == 1002)
        #expect(harness.transport.statistics.packetErr == 1)
        #expect(errors.map(\.code) == [.protocolError])
        #expect(errors.first?.detail?.contains("1002") == true, "\(errors)")
        harness.finish()
    }

    @Test("16 MiB in 64-byte fragments over maxPackageSize: 1009, packet_err, other connections unaffected")
    func sixteenMiBOverTheLimit() throws {
        let harness = try WSLoop()
        var errors: [TransportError] = []
        var closed = 0
        let server = try Self.echoServer(harness) { server in
            server.maxPackageSize = 1 << 20
            server.onError = { _, error in errors.append(error) }
        }
        let flood = try Self.raw(harness, server)
        let good = try Self.client(harness, server)
        var echoes = 0
        func finishIfDone() {
            closed += 1
            if closed == 2 { harness.done() }
        }
        flood.onClose = { _ in
            finishIfDone()
            good.send("still there?")
        }
        good.onMessage = { good, message in
            echoes += 1
            if message.text == "still there?" { good.close() }
        }
        good.onClose = { _ in finishIfDone() }
        good.onCodecEvent = { _, event in
            guard case .handshake = event else { return }
            flood.send(
                ByteBuffer(
                    wsUpgradeRequest() + WebSocketServerFrameTests.fragments(of: wsPattern(64), count: (16 << 20) / 64)
                )
            )
            flood.connect()
        }
        good.connect()
        try harness.run(timeout: 30)
        #expect(echoes == 1)
        #expect(harness.transport.statistics.packetErr == 1)
        #expect(errors.count == 1 && errors.first?.detail?.contains("1009") == true, "\(errors)")
        harness.finish()
    }

    @Test("a client reset in the middle of a frame closes only its own connection, and is no packet_err")
    func resetMidFrame() throws {
        let harness = try WSLoop()
        var serverCloses = 0
        let server = try Self.echoServer(harness)
        let good = try Self.client(harness, server)
        let resetter = try Self.raw(harness, server)
        var replies: [String] = []
        var answer = ""
        resetter.onMessage = { resetter, bytes in
            // The 101 is in: send half a frame, then reset the connection.
            answer += bytes.string
            guard answer.hasPrefix("HTTP/1.1 101"), answer.hasSuffix("\r\n\r\n") else { return }
            let frame = wsFrame(WS.binary, wsPattern(1000))
            resetter.send(ByteBuffer(Array(frame.prefix(500))))
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(resetter.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            resetter.destroy()
        }
        server.onClose = { _ in
            serverCloses += 1
            if serverCloses == 1 { good.send("you ok?") }
        }
        good.onMessage = { good, message in
            replies.append(message.text)
            good.close()
        }
        good.onClose = { _ in harness.done() }
        good.onCodecEvent = { _, event in
            guard case .handshake = event else { return }
            resetter.send(ByteBuffer(wsUpgradeRequest()))
            resetter.connect()
        }
        good.connect()
        try harness.run()
        #expect(replies == ["you ok?"])
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }

    @Test("an onCodecEvent hook refuses one upgrade with 403 and accepts another with a sub-protocol")
    func hookRefusesOrPicksProtocol() throws {
        let harness = try WSLoop()
        var requests: [String] = []
        let server = try Self.echoServer(harness) { server in
            server.onConnect = { connection in
                // Sent before the hook decides: held, and delivered right after the 101.
                connection.send("welcome")
            }
            server.onCodecEvent = { connection, event in
                guard case .handshake(let request?) = event else { return }
                requests.append(request.path)
                if request.path == "/forbidden" {
                    connection.rejectWebSocket(status: 403, reason: "not here")
                    return
                }
                let offered = (request.header("Sec-WebSocket-Protocol") ?? "").split(separator: ",").map {
                    $0.trimmingCharacters(in: " ")
                }
                if offered.contains("chat") { connection.codec.responseHeaders = [("Sec-WebSocket-Protocol", "chat")] }
                connection.acceptWebSocket()
            }
        }
        var refusal: TransportError?
        var closed = 0
        let refused = try Self.client(harness, server, path: "/forbidden")
        refused.onError = { _, error in refusal = error }
        refused.onClose = { _ in
            closed += 1
            if closed == 2 { harness.done() }
        }
        let accepted = try Self.client(harness, server, path: "/room")
        accepted.codec.protocols = ["superchat", "chat"]
        var messages: [String] = []
        var selected: String?
        accepted.onCodecEvent = { accepted, event in
            if case .handshake = event {
                selected = accepted.codec.selectedProtocol
                accepted.send("hello")
            }
        }
        accepted.onMessage = { accepted, message in
            messages.append(message.text)
            if messages.count == 2 { accepted.close() }
        }
        accepted.onClose = { _ in
            closed += 1
            if closed == 2 { harness.done() }
        }
        refused.connect()
        accepted.connect()
        try harness.run()
        #expect(Set(requests) == ["/forbidden", "/room"])
        #expect(refusal?.code == .protocolError)
        #expect(refusal?.detail?.contains("403") == true, "\(String(describing: refusal))")
        #expect(selected == "chat")
        #expect(messages == ["welcome", "hello"])
        #expect(harness.transport.statistics.packetErr == 1, "the client's refusal of the 403")
        harness.finish()
    }

    @Test("a hook that decides later: frames sent with the upgrade wait, then arrive in order after the 101")
    func hookDecidesLater() throws {
        let harness = try WSLoop()
        var delivered: [String] = []
        let server = try Self.echoServer(harness) { server in
            server.onConnect = { connection in connection.send("welcome") }
            server.onMessage = { connection, message in
                delivered.append(message.text)
                connection.send(message)
            }
            server.onCodecEvent = { connection, event in
                guard case .handshake = event else { return }
                #expect(connection.isPaused, "nothing is read while the hook decides")
                _ = try connection.loop.addTimer(after: 0.05) { connection.acceptWebSocket() }
            }
        }
        let peer = try Self.raw(harness, server)
        var answer: [UInt8] = []
        peer.onMessage = { peer, bytes in
            answer += bytes.bytes
            let (head, frames, _) = wsSplitResponse(ByteBuffer(answer))
            if wsStatus(head) == 101 && frames.count == 5 { peer.close() }
        }
        peer.onClose = { _ in harness.done() }
        peer.send(
            ByteBuffer(
                wsUpgradeRequest() + wsFrame(WS.text, "one") + wsFrame(WS.text, "two") + wsFrame(WS.ping, "p")
                    + wsFrame(WS.text, "three")
            )
        )
        peer.connect()
        try harness.run()
        let (head, frames, rest) = wsSplitResponse(ByteBuffer(answer))
        #expect(wsStatus(head) == 101)
        #expect(frames.map(\.text) == ["welcome", "one", "two", "p", "three"])
        #expect(frames.map(\.opcode) == [WS.text, WS.text, WS.text, WS.pong, WS.text])
        #expect(delivered == ["one", "two", "three"])
        #expect(rest == 0)
        harness.finish()
    }

    @Test("sends held before the handshake stop at maxSendBufferSize: .failed, onError sendFailed, send_fail")
    func heldSendsAreBounded() throws {
        let harness = try WSLoop()
        var results: [SendResult] = []
        var errors: [TransportError] = []
        let server = try Self.echoServer(harness) { server in
            server.maxSendBufferSize = 1000
            server.onError = { _, error in errors.append(error) }
            // 300-byte texts make 302-byte frames: four are held (906 < 1000 takes the fourth), six refused.
            server.onConnect = { connection in
                for index in 0..<10 {
                    results.append(connection.send(.text(String(repeating: "\(index)", count: 300))))
                }
            }
            server.onCodecEvent = { connection, event in
                guard case .handshake = event else { return }
                connection.acceptWebSocket()
            }
        }
        let client = try Self.client(harness, server)
        var received: [String] = []
        client.onMessage = { client, message in
            received.append(message.text)
            if received.count == 4 { client.close() }
        }
        client.onClose = { _ in harness.done() }
        client.connect()
        try harness.run()
        #expect(results == Array(repeating: .queued, count: 4) + Array(repeating: .failed, count: 6))
        #expect(received == (0..<4).map { String(repeating: "\($0)", count: 300) })
        #expect(errors.count == 6 && errors.allSatisfy { $0.code == .sendFailed }, "\(errors)")
        #expect(harness.transport.statistics.sendFail == 6)
        harness.finish()
    }

    @Test("closeWebSocket: the server's close frame is echoed by the client, then both sides close")
    func serverClosingHandshake() throws {
        let (clientSaw, serverSaw) = try Self.closingExchange { _, connection, message in
            connection.send(message)
            connection.closeWebSocket(code: 4000, reason: "that is all")
        }
        #expect(clientSaw == ["last words", "close 4000 that is all", "closed"])
        #expect(serverSaw == ["close 4000", "closed"])
    }

    @Test("draining (a graceful reload): an open WebSocket gets 1001 going away, then closes when answered")
    func drainingSaysGoingAway() throws {
        let (clientSaw, serverSaw) = try Self.closingExchange { _, connection, _ in connection.closeWhenIdle() }
        #expect(clientSaw == ["close 1001 ", "closed"])
        #expect(serverSaw == ["close 1001", "closed"], "closed by the peer's answer, not at once")
    }

    @Test("a server's closeAll (a stop) sends 1001 going away before closing, without waiting")
    func closeAllSaysGoingAway() throws {
        let (clientSaw, serverSaw) = try Self.closingExchange { server, _, _ in server.closeAll() }
        #expect(clientSaw == ["close 1001 ", "closed"])
        #expect(serverSaw == ["closed"])
    }

    /// A client sends "last words"; the server answers with `onMessage`; returns what each side saw
    /// (messages, close frames with their code, and the close of the socket).
    static func closingExchange(
        _ onMessage: @escaping (TCPServer<WebSocketServerCodec>, TCPConnection<WebSocketServerCodec>, WebSocketMessage) -> Void
    ) throws -> (client: [String], server: [String]) {
        let harness = try WSLoop()
        var serverSaw: [String] = []
        let server = try Self.echoServer(harness) { server in
            server.onMessage = { [unowned server] connection, message in onMessage(server, connection, message) }
            server.onCodecEvent = { connection, event in
                switch event {
                case .handshake: connection.acceptWebSocket()
                case .close(let code, _): serverSaw.append("close \(code)")
                default: break
                }
            }
            server.onClose = { _ in serverSaw.append("closed") }
        }
        let client = try Self.client(harness, server)
        var clientSaw: [String] = []
        client.onCodecEvent = { client, event in
            switch event {
            case .handshake: client.send("last words")
            case .close(let code, let reason): clientSaw.append("close \(code) \(reason)")
            default: break
            }
        }
        client.onMessage = { _, message in clientSaw.append(message.text) }
        client.onClose = { _ in
            clientSaw.append("closed")
            harness.done()
        }
        client.connect()
        try harness.run()
        if serverSaw.count < 2 {
            // The server closes when the answer to its close frame arrives: let that happen.
            _ = try harness.loop.addTimer(after: 0.5) { harness.done() }
            try harness.run()
        }
        harness.finish()
        return (clientSaw, serverSaw)
    }

    @Test("keepAlive pings the server until the connection closes, then its timer ends")
    func keepAlive() throws {
        let harness = try WSLoop()
        var pings = 0
        let server = try Self.echoServer(harness) { server in
            server.onCodecEvent = { connection, event in
                switch event {
                case .handshake: connection.acceptWebSocket()
                case .ping:
                    pings += 1
                    if pings == 3 { connection.close() }
                default: break
                }
            }
        }
        let client = try Self.client(harness, server)
        var pongs = 0
        client.onCodecEvent = { _, event in if case .pong = event { pongs += 1 } }
        client.onClose = { _ in
            // The keep-alive timer notices the close on its next tick.
            _ = try? harness.loop.addTimer(after: 0.3) { harness.done() }
        }
        try client.keepAlive(every: 0.05)
        client.connect()
        try harness.run()
        #expect(pings == 3)
        #expect(pongs >= 2)
        harness.finish()
    }

    @Test("reconnect(after:) redoes the handshake; messages sent once are delivered once")
    func reconnect() throws {
        let harness = try WSLoop()
        var received: [String] = []
        var handshakes = 0
        let server = try Self.echoServer(harness) { server in
            server.onMessage = { connection, message in
                received.append(message.text)
                connection.close()
            }
        }
        let client = try Self.client(harness, server)
        var closes = 0
        client.onCodecEvent = { client, event in
            guard case .handshake = event else { return }
            handshakes += 1
            if handshakes == 2 { client.send("second connection") }
        }
        client.onClose = { client in
            closes += 1
            if closes == 1 {
                client.reconnect(after: 0.01)
            } else {
                harness.done()
            }
        }
        client.send("first connection")
        client.connect()
        try harness.run()
        #expect(handshakes == 2)
        #expect(received == ["first connection", "second connection"])
        harness.finish()
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
