// WebSocketClientCodec without sockets: the upgrade request it sends (RFC 6455 §4.1), the checks on the
// server's answer, masking (§5.3: every frame, a fresh non-zero key each time, unlike Workerman's zero
// key), server frames that must not be masked, and control frames.

import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanProtocols

@Suite("WebSocketClientCodec")
struct WebSocketClientCodecTests {
    /// A client codec that has sent its request to `url`; returns it with the request text.
    static func started(
        _ url: String = "ws://example.com:8080/chat?room=1",
        configure: (inout WebSocketClientCodec) -> Void = { _ in }
    ) throws -> (driver: WSCodecDriver<WebSocketClientCodec>, request: String) {
        var codec = WebSocketClientCodec()
        configure(&codec)
        var driver = WSCodecDriver(codec, isClient: true)
        driver.endpoint = try Endpoint(url)
        driver.establish()
        let request = driver.takeOutput().string
        return (driver, request)
    }

    /// The key a request carries.
    static func key(of request: String) -> String? { wsHeader("Sec-WebSocket-Key", in: request) }

    /// The server's 101 for `request`, with `extra` header lines.
    static func accept(_ request: String, extra: [String] = [], accept: String? = nil) -> [UInt8] {
        let value = accept ?? WebSocketHandshake.acceptValue(for: key(of: request) ?? "")
        let lines =
            [
                "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Accept: \(value)",
            ] + extra
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// An open client (handshake done), its output taken.
    static func open(maxPackageSize: Int = 1 << 20) throws -> WSCodecDriver<WebSocketClientCodec> {
        let (start, request) = try started()
        var driver = start
        driver.receive(accept(request))
        #expect(driver.codec.isOpen)
        _ = driver.takeOutput()
        driver.events.removeAll()
        return driver
    }

    // MARK: - The request

    @Test("the upgrade request has the target, Host, Upgrade, Connection, version 13 and a 16-byte key (§4.1)")
    func upgradeRequest() throws {
        let (_, request) = try Self.started()
        #expect(request.hasPrefix("GET /chat?room=1 HTTP/1.1\r\n"))
        #expect(request.hasSuffix("\r\n\r\n"))
        #expect(wsHeader("Host", in: request) == "example.com:8080")
        #expect(wsHeader("Upgrade", in: request) == "websocket")
        #expect(wsHeader("Connection", in: request) == "Upgrade")
        #expect(wsHeader("Sec-WebSocket-Version", in: request) == "13")
        let key = try #require(Self.key(of: request))
        #expect(Base64.decode(key)?.count == 16)
        #expect(wsHeader("Origin", in: request) == nil)
        #expect(wsHeader("Sec-WebSocket-Protocol", in: request) == nil)

        // The request parses as a valid upgrade on our own server codec, and is accepted.
        let run = try wsServerVerifier().verify(Array(request.utf8))
        #expect(wsStatus(wsSplitResponse(run.output).head) == 101)
    }

    @Test("every connection gets a fresh random key")
    func keysDiffer() throws {
        var keys = Set<String>()
        for _ in 0..<20 {
            let request = try Self.started().request
            keys.insert(Self.key(of: request) ?? "")
        }
        #expect(keys.count == 20)
    }

    @Test("port 80 is left out of Host; a path-less URL asks for /")
    func defaultPort() throws {
        let (_, request) = try Self.started("ws://example.com")
        #expect(request.hasPrefix("GET / HTTP/1.1\r\n"))
        #expect(wsHeader("Host", in: request) == "example.com")
        let (_, v6) = try Self.started("ws://[::1]:9000/x")
        #expect(wsHeader("Host", in: v6) == "[::1]:9000")
    }

    @Test("Origin, sub-protocols and custom headers are sent; a custom Host replaces ours")
    func customHeaders() throws {
        let (_, request) = try Self.started { codec in
            codec.origin = "http://example.com"
            codec.protocols = ["chat", "superchat"]
            codec.headers = [("Authorization", "Bearer t"), ("Host", "virtual.example")]
        }
        #expect(wsHeader("Origin", in: request) == "http://example.com")
        #expect(wsHeader("Sec-WebSocket-Protocol", in: request) == "chat, superchat")
        #expect(wsHeader("Authorization", in: request) == "Bearer t")
        #expect(wsHeader("Host", in: request) == "virtual.example")
        #expect(request.ranges(of: "Host:").count == 1)
    }

    // MARK: - The answer

    @Test("a correct 101 opens the connection, reports the handshake and the chosen sub-protocol")
    func accepted() throws {
        let (start, request) = try Self.started { $0.protocols = ["chat", "superchat"] }
        var driver = start
        driver.receive(Self.accept(request, extra: ["Sec-WebSocket-Protocol: superchat"]))
        #expect(driver.codec.isOpen)
        #expect(driver.rejection == nil)
        #expect(driver.codec.selectedProtocol == "superchat")
        #expect(driver.events.count == 1)
        if case .handshake(nil)? = driver.events.first {} else { Issue.record("\(driver.events)") }
    }

    @Test("the answer may arrive a byte at a time, with frames right behind it")
    func answerByteByByte() throws {
        let (start, request) = try Self.started()
        var driver = start
        let stream = Self.accept(request) + wsFrame(WS.text, "first", mask: nil) + wsFrame(WS.binary, [9], mask: nil)
        for byte in stream { driver.receive([byte]) }
        #expect(driver.codec.isOpen)
        #expect(driver.messages == [.text("first"), .binary(ByteBuffer([9]))])
    }

    @Test(
        "a wrong or missing Sec-WebSocket-Accept, or a refusal, fails the connection",
        arguments: [
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(WS.sampleAccept)\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \r\n\r\n",
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.0 101 Switching Protocols\r\n\r\n",
            "SSH-2.0-OpenSSH_9.2\r\n\r\n",
        ]
    )
    func refusedAnswers(answer: String) throws {
        var (driver, _) = try Self.started()
        driver.receive(Array(answer.utf8))
        #expect(driver.rejection != nil, "\(answer.debugDescription)")
        #expect(!driver.codec.isOpen)
    }

    @Test("an answer without Upgrade or Connection fails, whatever its accept value")
    func missingUpgradeHeaders() throws {
        for drop in ["Upgrade", "Connection"] {
            let (start, request) = try Self.started()
            var driver = start
            let lines = String(decoding: Self.accept(request), as: UTF8.self).split(separator: "\r\n").filter {
                !$0.hasPrefix(drop + ":")
            }
            driver.receive(Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8))
            #expect(driver.rejection != nil, "without \(drop)")
        }
    }

    @Test("an endless answer head is refused, not buffered without bound")
    func headTooLarge() throws {
        var (driver, _) = try Self.started()
        driver.receive(Array("HTTP/1.1 101 Switching Protocols\r\n".utf8))
        for _ in 0..<2000 where driver.rejection == nil { driver.receive(Array("X-Padding: 0123456789\r\n".utf8)) }
        #expect(driver.rejection != nil)
    }

    @Test("bytes before the request was sent fail the connection")
    func dataBeforeRequest() {
        var driver = WSCodecDriver(WebSocketClientCodec(), isClient: true)
        driver.receive(Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8))
        #expect(driver.rejection != nil)
    }

    // MARK: - Masking

    @Test("messages sent before the handshake are held, then sent masked after the 101")
    func heldUntilOpen() throws {
        let (start, request) = try Self.started()
        var driver = start
        #expect(driver.send(.text("early")).isEmpty)
        #expect(driver.send(.binary(ByteBuffer([1, 2, 3]))).isEmpty)
        #expect(driver.output.isEmpty)
        driver.receive(Self.accept(request))
        let (frames, rest) = wsParseFrames(driver.output.bytes)
        #expect(rest == 0)
        #expect(frames.map(\.opcode) == [WS.text, WS.binary])
        #expect(frames.first?.text == "early" && frames.last?.payload == [1, 2, 3])
        #expect(frames.allSatisfy { $0.maskKey != nil && $0.maskKey != [0, 0, 0, 0] })
    }

    @Test("what is held before the handshake is bounded by maxSendBufferSize, as on the server")
    func heldIsBounded() throws {
        let (start, request) = try Self.started()
        var driver = start
        driver.maxSendBufferSize = 100
        // 80-byte texts make 86-byte masked frames: a second is taken (86 < 100), then no more.
        let text = String(repeating: "y", count: 80)
        for _ in 0..<3 { #expect(driver.send(.text(text)).isEmpty) }
        #expect(driver.refusedSends == 1)
        driver.receive(Self.accept(request))
        let (frames, rest) = wsParseFrames(driver.output.bytes)
        #expect(frames.map(\.text) == [text, text])
        #expect(rest == 0)
    }

    @Test("every frame is masked with a non-zero key that changes from frame to frame")
    func masking() throws {
        var driver = try Self.open()
        var keys: [[UInt8]] = []
        let payloads = (0..<200).map { wsPattern($0 * 7 % 300, seed: $0) }
        for (index, payload) in payloads.enumerated() {
            let wire = driver.send(
                index % 2 == 0
                    ? .binary(ByteBuffer(payload)) : .text(String(decoding: payload.map { $0 & 0x7F }, as: UTF8.self))
            )
            let (frames, rest) = wsParseFrames(wire)
            #expect(frames.count == 1 && rest == 0)
            guard let frame = frames.first, let key = frame.maskKey else {
                Issue.record("frame \(index) is not masked")
                continue
            }
            #expect(key != [0, 0, 0, 0])
            keys.append(key)
            #expect(
                frame.payload == (index % 2 == 0 ? payload : payload.map { $0 & 0x7F }),
                "frame \(index) unmasks to its payload"
            )
            if payload.count >= 8 {
                #expect(Array(wire.suffix(payload.count)) != frame.payload, "the bytes on the wire are masked")
            }
        }
        #expect(Set(keys).count >= 195, "keys repeat: \(keys.count - Set(keys).count) duplicates")
        // Consecutive keys never repeat.
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 != $1 })
    }

    @Test(
        "a reconnect, which restores a copy of the codec taken before the first connection, neither repeats its mask keys nor resends what the first connection delivered"
    )
    func copyForReconnect() throws {
        // As TCPClient does: sends before connect(), then a copy kept as the template.
        var first = WSCodecDriver(WebSocketClientCodec(), isClient: true)
        first.endpoint = try Endpoint("ws://example.com/")
        first.send(.text("sent once"))
        var second = first
        first.establish()
        let request = first.takeOutput().string
        first.receive(Self.accept(request))
        #expect(wsParseFrames(first.takeOutput().bytes).frames.map(\.text) == ["sent once"])
        let firstKeys = (0..<8).compactMap { _ in wsParseFrames(first.send(.text("k"))).frames.first?.maskKey }

        // The reconnect starts from the template.
        second.establish()
        let again = second.takeOutput().string
        #expect(Self.key(of: again) != Self.key(of: request))
        second.receive(Self.accept(again))
        #expect(second.codec.isOpen)
        #expect(second.output.isEmpty, "the first connection's held message is not sent again")
        let secondKeys = (0..<8).compactMap { _ in wsParseFrames(second.send(.text("k"))).frames.first?.maskKey }
        #expect(firstKeys.count == 8 && secondKeys.count == 8)
        #expect(firstKeys != secondKeys, "the copy's key generator was reseeded")
    }

    @Test("the mask key generator never yields zero and differs between connections")
    func maskKeyGenerator() {
        var first = MaskKeyGenerator()
        var second = MaskKeyGenerator()
        let a = (0..<64).map { _ in first.next() }
        let b = (0..<64).map { _ in second.next() }
        #expect(!a.contains(0) && !b.contains(0))
        #expect(a != b)
    }

    @Test("a pong answers a ping with the same payload, masked; a close is echoed masked, then the connection closes")
    func controlFrames() throws {
        var driver = try Self.open()
        driver.receive(wsFrame(WS.ping, Array("are you there".utf8), mask: nil))
        var (frames, _) = wsParseFrames(driver.takeOutput().bytes)
        #expect(frames.count == 1)
        #expect(
            frames.first?.opcode == WS.pong && frames.first?.text == "are you there" && frames.first?.maskKey != nil
        )
        if case .ping(let payload)? = driver.events.last {
            #expect(payload.string == "are you there")
        } else {
            Issue.record("\(driver.events)")
        }

        driver.receive(wsFrame(WS.close, wsClosePayload(1001, Array("restart".utf8)), mask: nil))
        frames = wsParseFrames(driver.takeOutput().bytes).frames
        #expect(frames.count == 1 && frames.first?.closeCode == 1001 && frames.first?.maskKey != nil)
        #expect(driver.closeRequested)
        if case .close(let code, let reason)? = driver.events.last {
            #expect(code == 1001 && reason == "restart")
        } else {
            Issue.record("\(driver.events)")
        }
        #expect(driver.send(.text("late")).isEmpty, "nothing is sent after the close")
    }

    @Test("server frames decode: text, binary, fragments with a ping between them")
    func serverFrames() throws {
        var driver = try Self.open()
        driver.receive(
            wsFrame(WS.text, "Hel", fin: false, mask: nil) + wsFrame(WS.ping, [], mask: nil)
                + wsFrame(WS.continuation, "lo", mask: nil)
                + wsFrame(WS.binary, wsPattern(70_000), mask: nil)
        )
        #expect(driver.messages == [.text("Hello"), .binary(ByteBuffer(wsPattern(70_000)))])
        #expect(driver.rejection == nil)
    }

    @Test("a masked frame from the server fails the connection with 1002 (§5.1)")
    func maskedServerFrame() throws {
        var driver = try Self.open()
        driver.receive(wsFrame(WS.text, "sneaky"))
        #expect(driver.rejection?.code == 1002)
        let frames = wsParseFrames(driver.output.bytes).frames
        #expect(frames.count == 1 && frames.first?.closeCode == 1002 && frames.first?.maskKey != nil)
    }

    @Test("protocol violations from the server close with their codes")
    func violations() throws {
        let cases: [([UInt8], Int)] = [
            (wsFrame(WS.text, [0xFF], mask: nil), 1007),
            (wsFrame(WS.text, Array("x".utf8), mask: nil, rsv: 4), 1002),
            (wsFrame(0x3, [1], mask: nil), 1002),
            (wsFrame(WS.ping, wsPattern(126), mask: nil), 1002),
            (wsFrame(WS.close, wsClosePayload(1005), mask: nil), 1002),
            (wsFrame(WS.binary, [1, 2], mask: nil, length: .sixteen), 1002),
            (Array(wsFrame(WS.binary, [], mask: nil, length: .declared(1 << 63)).prefix(10)), 1002),
            (Array(wsFrame(WS.binary, [], mask: nil, length: .declared(1 << 30)).prefix(10)), 1009),
        ]
        for (frame, code) in cases {
            var driver = try Self.open()
            driver.receive(frame)
            #expect(driver.rejection?.code == code, "\(frame.prefix(12))")
            #expect(wsParseFrames(driver.output.bytes).frames.last?.closeCode == code)
        }
    }
}
