// permessage-deflate on the wire without sockets (RFC 7692 §6, §7.2): RFC 7692's own examples, round
// trips between our client and server codecs with and without context takeover, compressed fragments,
// a decompression bomb, corrupt data, RSV1 where it does not belong, and a system without zlib.

import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanProtocols

/// "Hello" compressed, as RFC 7692 §7.2.3.1 and §7.2.3.2 show it: alone, then again with context takeover.
private let helloCompressed: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
private let helloAgain: [UInt8] = [0xF2, 0x00, 0x11, 0x00, 0x00]
/// RSV1 in `wsFrame`'s `rsv` argument.
private let rsv1: UInt8 = 0x4

private func deflateRequest(_ offer: String = "permessage-deflate; client_max_window_bits") -> [UInt8] {
    wsUpgradeRequest(extra: ["Sec-WebSocket-Extensions: \(offer)"])
}

private func deflateServer(
    maxPackageSize: Int = 1 << 20,
    options: PermessageDeflateOptions = PermessageDeflateOptions()
) -> CodecVerifier<WebSocketServerCodec> {
    CodecVerifier(
        maxPackageSize: maxPackageSize,
        makeCodec: {
            var codec = WebSocketServerCodec()
            codec.permessageDeflate = options
            return codec
        },
        respond: { [$0] }
    )
}

/// Raw deflate of `bytes` with a sync flush, the 4-byte tail stripped (a peer's compressor).
private func compressed(_ bytes: [UInt8], with stream: ZlibStream) -> [UInt8] {
    var output = ByteBuffer()
    bytes.withUnsafeBytes { stream.deflate($0, into: &output) }
    #expect(Array(output.bytes.suffix(4)) == [0x00, 0x00, 0xFF, 0xFF])
    return Array(output.bytes.dropLast(4))
}

@Suite("permessage-deflate frames", .enabled(if: Zlib.isAvailable, "libz.so.1 cannot be loaded"))
struct PermessageDeflateTests {
    @Test("RFC 7692's examples: compressed, with context takeover, fragmented, stored and final blocks")
    func rfcExamples() throws {
        let stream = deflateRequest() + [
            wsFrame(WS.text, helloCompressed, rsv: rsv1),
            wsFrame(WS.text, helloAgain, rsv: rsv1),
            // §7.2.3.3: one compressed message in two frames; RSV1 on the first only.
            wsFrame(WS.text, Array(helloCompressed[0..<3]), fin: false, rsv: rsv1),
            wsFrame(WS.continuation, Array(helloCompressed[3...])),
            // §7.2.3.4: an uncompressed message between compressed ones.
            wsFrame(WS.text, "Hello"),
            // §7.2.3.2's stored block, and §7.2.3.5's BFINAL block, which ends the peer's stream.
            wsFrame(WS.binary, [0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00], rsv: rsv1),
            wsFrame(WS.text, [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00], rsv: rsv1),
            wsFrame(WS.text, helloCompressed, rsv: rsv1),
        ].joined()
        let run = try deflateServer().verify(stream)
        #expect(run.messages == ["Hello", "Hello", "Hello", "Hello", .binary(ByteBuffer("Hello")), "Hello", "Hello"])
        #expect(!run.closed)
        let (head, frames, _) = wsSplitResponse(run.output)
        #expect(wsHeader("Sec-WebSocket-Extensions", in: head) == "permessage-deflate")
        // Our echoes: RFC 7692's bytes exactly (zlib's defaults), the second shorter thanks to the context.
        #expect(frames.count == 7)
        #expect(frames.allSatisfy { $0.rsv == rsv1 && $0.fin })
        #expect(frames.first?.payload == helloCompressed)
        #expect(frames.dropFirst().first?.payload == helloAgain)
    }

    @Test("server_no_context_takeover: every echo is compressed on its own")
    func serverNoContextTakeover() throws {
        let run = try deflateServer().verify(
            wsUpgradeRequest(extra: ["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"])
                + wsFrame(WS.text, helloCompressed, rsv: rsv1) + wsFrame(WS.text, helloAgain, rsv: rsv1)
                + wsFrame(WS.text, "Hello"))
        let (head, frames, _) = wsSplitResponse(run.output)
        #expect(wsHeader("Sec-WebSocket-Extensions", in: head) == "permessage-deflate; server_no_context_takeover")
        #expect(frames.map(\.payload) == [helloCompressed, helloCompressed, helloCompressed])
    }

    @Test("client_no_context_takeover: the server resets its decompressor after each message")
    func clientNoContextTakeover() throws {
        let peer = try #require(ZlibStream(deflateLevel: 6, windowBits: 15, memoryLevel: 8))
        let first = compressed(Array("Hello, Hello, Hello".utf8), with: peer)
        peer.reset()
        let second = compressed(Array("Hello, Hello, Hello".utf8), with: peer)
        let run = try deflateServer().verify(
            deflateRequest("permessage-deflate; client_no_context_takeover")
                + wsFrame(WS.text, first, rsv: rsv1) + wsFrame(WS.text, second, rsv: rsv1))
        #expect(run.messages == ["Hello, Hello, Hello", "Hello, Hello, Hello"])
        #expect(!run.closed)
    }

    @Test("a large compressed message in many fragments, with a ping between them")
    func compressedFragments() throws {
        let text = String(repeating: "permessage-deflate ✓ ", count: 20_000)
        let peer = try #require(ZlibStream(deflateLevel: 6, windowBits: 15, memoryLevel: 8))
        let data = compressed(Array(text.utf8), with: peer)
        var stream = deflateRequest()
        var offset = 0
        var first = true
        while offset < data.count {
            let end = min(offset + 1000, data.count)
            stream += wsFrame(first ? WS.text : WS.continuation, Array(data[offset..<end]), fin: end == data.count, rsv: first ? rsv1 : 0)
            if first { stream += wsFrame(WS.ping, "mid") }
            first = false
            offset = end
        }
        let run = try deflateServer().verify(stream, splits: wsLongSplits)
        #expect(run.messages == [.text(text)])
        #expect(!run.closed)
    }

    @Test("a decompression bomb (16 MiB of zeros in a few KiB) closes with 1009 at the limit")
    func decompressionBomb() throws {
        let peer = try #require(ZlibStream(deflateLevel: 9, windowBits: 15, memoryLevel: 8))
        let bomb = compressed([UInt8](repeating: 0, count: 16 << 20), with: peer)
        #expect(bomb.count < 32 * 1024)
        let run = deflateServer(maxPackageSize: 1 << 20).run(deflateRequest() + wsFrame(WS.binary, bomb, rsv: rsv1), split: .whole)
        #expect(run.messages.isEmpty)
        #expect(run.rejection?.code == WebSocketCloseCode.messageTooBig)
        #expect(wsSplitResponse(run.output).frames.last?.closeCode == WebSocketCloseCode.messageTooBig)

        // The decompressor itself stops one piece past the limit rather than inflating the whole bomb.
        let inflater = try #require(ZlibStream(inflateWindowBits: 15))
        var output = ByteBuffer()
        let result = (bomb + [0, 0, 0xFF, 0xFF]).withUnsafeBytes { inflater.inflate($0, into: &output, limit: 1 << 20) { _ in true } }
        #expect(result == .tooBig)
        #expect(output.capacity <= 4 << 20)
    }

    @Test("corrupt compressed data closes with 1007")
    func corruptData() {
        // 0xFF starts a block of the reserved type 3.
        let run = deflateServer().run(deflateRequest() + wsFrame(WS.text, [0xFF, 0xFF, 0xFF, 0xFF], rsv: rsv1), split: .whole)
        #expect(run.rejection?.code == WebSocketCloseCode.invalidPayload)
        #expect(wsSplitResponse(run.output).frames.last?.closeCode == WebSocketCloseCode.invalidPayload)
    }

    @Test("text is validated after inflating: invalid UTF-8 inside compressed data closes with 1007")
    func invalidCompressedText() throws {
        let peer = try #require(ZlibStream(deflateLevel: 6, windowBits: 15, memoryLevel: 8))
        let bad = compressed([0x48, 0x69, 0xC0, 0xAF], with: peer)
        let run = deflateServer().run(deflateRequest() + wsFrame(WS.text, bad, rsv: rsv1), split: .whole)
        #expect(run.rejection?.code == WebSocketCloseCode.invalidPayload)
        let torn = try deflateServer().verify(deflateRequest() + wsFrame(WS.text, compressed([0xE2, 0x98], with: peer), rsv: rsv1))
        #expect(torn.rejection?.code == WebSocketCloseCode.invalidPayload)
    }

    @Test(
        "RSV1 on a control frame, on a continuation, or without negotiation closes with 1002",
        arguments: [
            deflateRequest() + wsFrame(WS.ping, [], rsv: rsv1),
            deflateRequest() + wsFrame(WS.close, wsClosePayload(1000), rsv: rsv1),
            deflateRequest() + wsFrame(WS.text, helloCompressed, fin: false, rsv: rsv1) + wsFrame(WS.continuation, [], rsv: rsv1),
            deflateRequest() + wsFrame(WS.text, "Hello", fin: false) + wsFrame(WS.continuation, helloCompressed, rsv: rsv1),
            wsUpgradeRequest() + wsFrame(WS.text, helloCompressed, rsv: rsv1),
            deflateRequest("x-other") + wsFrame(WS.text, helloCompressed, rsv: rsv1),
            deflateRequest() + wsFrame(WS.text, helloCompressed, rsv: 0x2),
        ]
    )
    func misplacedRSV1(stream: [UInt8]) throws {
        let run = try deflateServer().verify(stream)
        #expect(run.rejection?.code == WebSocketCloseCode.protocolError)
    }

    @Test("without permessageDeflate set, an offer is declined and RSV1 stays an error")
    func offByDefault() throws {
        let run = try wsServerVerifier().verify(deflateRequest() + wsFrame(WS.text, helloCompressed, rsv: rsv1))
        #expect(wsHeader("Sec-WebSocket-Extensions", in: wsSplitResponse(run.output).head) == nil)
        #expect(run.rejection?.code == WebSocketCloseCode.protocolError)
    }

    @Test("an HTTP route's upgrade accepts the offer when given options, and its codec starts compressed")
    func upgradedConnection() {
        let request = HTTPRequest(
            headers: [
                "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": WS.sampleKey, "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            ])
        let plain = WebSocketServerCodec(upgradedFrom: request, responseHeaders: [("Sec-WebSocket-Protocol", "chat")])
        #expect(!plain.isCompressed)
        #expect(plain.acceptHeaders.map(\.0) == ["Sec-WebSocket-Protocol"])
        let codec = WebSocketServerCodec(
            upgradedFrom: request, responseHeaders: [("Sec-WebSocket-Protocol", "chat")], permessageDeflate: PermessageDeflateOptions())
        #expect(codec.isCompressed)
        #expect(codec.acceptHeaders.map(\.0) == ["Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"])
        #expect(codec.acceptHeaders.last?.1 == "permessage-deflate")
    }

    @Test("server_max_window_bits=8 is agreed, and the server then sends uncompressed")
    func windowOfEight() throws {
        let run = try deflateServer().verify(
            deflateRequest("permessage-deflate; server_max_window_bits=8") + wsFrame(WS.text, helloCompressed, rsv: rsv1))
        let (head, frames, _) = wsSplitResponse(run.output)
        #expect(wsHeader("Sec-WebSocket-Extensions", in: head) == "permessage-deflate; server_max_window_bits=8")
        #expect(run.messages == ["Hello"])
        #expect(frames.map(\.rsv) == [0])
        #expect(frames.first?.text == "Hello")
    }
}

@Suite("permessage-deflate without zlib")
struct PermessageDeflateUnavailableTests {
    @Test("when libz.so.1 cannot be loaded, the server declines and the client offers nothing")
    func unavailable() throws {
        var options = PermessageDeflateOptions()
        options.simulatesMissingZlib = true
        let run = try deflateServer(options: options).verify(deflateRequest() + wsFrame(WS.text, "plain"))
        #expect(wsHeader("Sec-WebSocket-Extensions", in: wsSplitResponse(run.output).head) == nil)
        #expect(run.messages == ["plain"])

        var codec = WebSocketClientCodec()
        codec.permessageDeflate = options
        var client = WSCodecDriver(codec, isClient: true)
        client.endpoint = try Endpoint("ws://example.com/")
        client.establish()
        #expect(!client.takeOutput().string.contains("Sec-WebSocket-Extensions"))
    }
}

@Suite("permessage-deflate between our client and server", .enabled(if: Zlib.isAvailable, "libz.so.1 cannot be loaded"))
struct PermessageDeflateRoundTripTests {
    /// Our client and server codecs connected back to back; returns both after the handshake.
    private func pair(
        client clientOptions: PermessageDeflateOptions,
        server serverOptions: PermessageDeflateOptions
    ) throws -> (WSCodecDriver<WebSocketClientCodec>, WSCodecDriver<WebSocketServerCodec>) {
        var clientCodec = WebSocketClientCodec()
        clientCodec.permessageDeflate = clientOptions
        var serverCodec = WebSocketServerCodec()
        serverCodec.permessageDeflate = serverOptions
        var client = WSCodecDriver(clientCodec, maxPackageSize: 4 << 20, isClient: true)
        client.endpoint = try Endpoint("ws://example.com/")
        var server = WSCodecDriver(serverCodec, maxPackageSize: 4 << 20, wantsEvents: false)
        client.establish()
        server.receive(client.takeOutput().bytes)
        client.receive(server.takeOutput().bytes)
        #expect(client.codec.isOpen && server.codec.isOpen)
        return (client, server)
    }

    static let variants: [(PermessageDeflateOptions, PermessageDeflateOptions)] = [
        (PermessageDeflateOptions(), PermessageDeflateOptions()),
        (PermessageDeflateOptions(serverNoContextTakeover: true, clientNoContextTakeover: true), PermessageDeflateOptions()),
        (PermessageDeflateOptions(serverMaxWindowBits: 9, clientMaxWindowBits: 10), PermessageDeflateOptions(compressionLevel: 1)),
        (PermessageDeflateOptions(), PermessageDeflateOptions(serverNoContextTakeover: true, clientMaxWindowBits: 8, memoryLevel: 1)),
    ]

    @Test("messages round-trip both ways, compressed, with and without context takeover", arguments: variants)
    func roundTrips(clientOptions: PermessageDeflateOptions, serverOptions: PermessageDeflateOptions) throws {
        var (client, server) = try pair(client: clientOptions, server: serverOptions)
        #expect(client.codec.isCompressed && server.codec.isCompressed)
        let messages: [WebSocketMessage] = [
            "Hello", "Hello", "", .binary(ByteBuffer(wsPattern(100_000, seed: 3))),
            .text(String(repeating: "{\"price\": 12.5, \"symbol\": \"ABC\"} ", count: 30_000)),
            .binary(ByteBuffer([UInt8](repeating: 7, count: 1 << 20))), "héllo ☃ 😀",
        ]
        for message in messages {
            let wire = client.send(message)
            let size = message.bytes.readableBytes
            // The JSON repeats every 34 bytes, within any window (the binary pattern's 251 bytes are
            // beyond a 512-byte window's reach). A client held to a window of 8 sends uncompressed
            // (zlib cannot), as RFC 7692 allows.
            let compressible = message.isText && size > 1000
            if compressible { #expect((wire.count < size) == (serverOptions.clientMaxWindowBits > 8)) }
            server.receive(wire)
            let echoed = server.send(message)
            if compressible { #expect(echoed.count < size / 10) }
            client.receive(echoed)
        }
        // Compared as a whole, not printed: the messages are megabytes.
        #expect(server.messages.map(\.bytes.readableBytes) == messages.map(\.bytes.readableBytes))
        #expect(server.messages == messages, "the server received different messages")
        #expect(client.messages == messages, "the client received different messages")
        #expect(server.rejection == nil, "\(String(describing: server.rejection))")
        #expect(client.rejection == nil, "\(String(describing: client.rejection))")
    }

    @Test("a client rejects a server that answers permessage-deflate unasked")
    func unaskedAnswer() throws {
        var client = WSCodecDriver(WebSocketClientCodec(), isClient: true)
        client.endpoint = try Endpoint("ws://example.com/")
        client.establish()
        let request = client.takeOutput().string
        let key = try #require(wsHeader("Sec-WebSocket-Key", in: request))
        client.receive(
            Array(
                ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: \(WebSocketHandshake.acceptValue(for: key))\r\n"
                    + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n").utf8))
        #expect(client.rejection != nil)
        #expect(!client.codec.isOpen)
    }
}
