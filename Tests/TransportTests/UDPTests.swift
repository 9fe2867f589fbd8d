// UDP: UDPServer with a codec (one UDPConnection per datagram), UDPClient as the client, the
// 65,507-byte limit, and total_request counted per datagram. IPv4 and IPv6 loopback, on each loop backend.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("UDP")
struct UDPTests {
    static let families: [Family] = [.ipv4, .ipv6]

    static func addresses(_ family: Family) -> (listen: String, host: String) {
        family == .ipv6 ? ("udp://[::1]:0", "[::1]") : ("udp://127.0.0.1:0", "127.0.0.1")
    }

    @Test(arguments: BackendKind.available, families)
    func echoWithACodec(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let (listen, host) = Self.addresses(family)
        let server = try UDPServer<LineCodec>(loop: harness.loop, address: listen)
        var senders: [SocketAddress] = []
        var serverLocal: SocketAddress?
        var sendResults: [Bool] = []
        server.onMessage = { sender, line in
            senders.append(sender.remoteAddress)
            serverLocal = sender.localAddress
            sendResults.append(sender.send(line.uppercased()))
        }
        try server.start()
        let listenAddress = server.listener!.address
        let port = listenAddress.port
        let client = try UDPClient<LineCodec>(loop: harness.loop, url: "udp://\(host):\(port)")
        var connects = 0
        var closes = 0
        var replies: [String] = []
        client.onConnect = { _ in connects += 1 }
        client.onMessage = { client, line in
            replies.append(line)
            if replies.count == 2 { client.close() }
        }
        client.onClose = { _ in
            closes += 1
            harness.done()
        }
        #expect(client.send("hello"))
        #expect(client.isConnected && connects == 1, "send connects first")
        #expect(harness.context.statistics.connections == 1)
        let clientLocal = SocketCalls.localAddress(client.fd)
        #expect(client.send("world"))
        try harness.run()
        server.stop()

        #expect(replies == ["HELLO", "WORLD"])
        #expect(sendResults == [true, true])
        #expect(senders.count == 2 && senders.allSatisfy { $0 == clientLocal })
        #expect(senders.first?.ip == (family == .ipv6 ? "::1" : "127.0.0.1"))
        #expect(serverLocal == listenAddress)
        #expect(connects == 1 && closes == 1)
        #expect(!client.isConnected && client.fd == -1)
        client.close()
        #expect(closes == 1, "closing again does nothing")
        let statistics = harness.context.statistics
        #expect(statistics.totalRequest == 4, "two datagrams each way")
        #expect(statistics.bytesWritten == 2 * 6 + 2 * 6)
        #expect(statistics.bytesRead == statistics.bytesWritten)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, families)
    func aDatagramOverTheLimitIsRefusedAndNothingElseIsDisturbed(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let (listen, host) = Self.addresses(family)
        let server = try UDPServer<RawCodec>(loop: harness.loop, address: listen)
        var serverSizes: [Int] = []
        var oversizedReply: Bool?
        server.onMessage = { sender, bytes in
            serverSizes.append(bytes.readableBytes)
            if bytes.string == "ok" { oversizedReply = sender.send(filler(70_000, 1)) }
            sender.send(bytes)
        }
        try server.start()
        let client = try UDPClient<RawCodec>(loop: harness.loop, url: "udp://\(host):\(server.listener!.address.port)")
        var replySizes: [Int] = []
        client.onMessage = { client, bytes in
            replySizes.append(bytes.readableBytes)
            if bytes.string == "ok" { client.close() }
        }
        client.onClose = { _ in harness.done() }
        #expect(client.send(filler(65_507, 7)), "the largest datagram goes")
        #expect(!client.send(filler(65_508, 7)), "one byte more is refused")
        #expect(!client.send(filler(1 << 20, 7)))
        #expect(harness.context.statistics.sendFail == 2)
        #expect(client.isConnected)
        #expect(client.send(ByteBuffer("ok")))
        try harness.run()
        server.stop()
        #expect(serverSizes == [65_507, 2])
        #expect(replySizes == [65_507, 2])
        #expect(oversizedReply == false)
        #expect(harness.context.statistics.sendFail == 3)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, families)
    func totalRequestCountsEveryDatagram(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let (listen, _) = Self.addresses(family)
        let server = try UDPServer<LineCodec>(loop: harness.loop, address: listen)
        var lines: [String] = []
        var errors: [TransportError] = []
        server.onMessage = { _, line in
            lines.append(line)
            if line == "last" { harness.done() }
        }
        server.onError = { error in errors.append(error) }
        try server.start()
        let address = server.listener!.address
        // A plain socket, so only the server counts.
        let sender = try SocketCalls.socket(domain: address.family, type: CInt(SOCK_DGRAM.rawValue))
        defer { _ = Glibc.close(sender) }
        for datagram in ["one\n", "!drop\n", "!reject\n", "two\nlines\n", "last\n"] {
            let sent = try Array(datagram.utf8).withUnsafeBytes { try SocketCalls.sendTo(sender, $0, address) }
            #expect(sent == .processed(datagram.utf8.count))
        }
        try harness.run()
        server.stop()
        #expect(lines == ["one", "two\nlines", "last"], "a datagram is one message; no splitting")
        let statistics = harness.context.statistics
        #expect(statistics.totalRequest == 5, "dropped and rejected datagrams count too")
        #expect(statistics.packetErr == 1)
        #expect(errors.map(\.code) == [.protocolError])
        #expect(errors.first?.description.contains("rejected line") == true)
        #expect(statistics.connections == 0, "a UDP server holds no connections")
        harness.finish()
    }

    @Test(arguments: BackendKind.available, families)
    func stoppingFromOnMessageReadsNoMore(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let server = try UDPServer<RawCodec>(loop: harness.loop, address: Self.addresses(family).listen)
        var received: [String] = []
        var errors: [TransportError] = []
        // Unowned: the server holds this closure, which would otherwise hold the server for ever.
        server.onMessage = { [unowned server] _, bytes in
            received.append(bytes.string)
            server.stop()
            harness.done()
        }
        server.onError = { error in errors.append(error) }
        try server.start()
        let address = server.listener!.address
        let sender = try SocketCalls.socket(domain: address.family, type: CInt(SOCK_DGRAM.rawValue))
        defer { _ = Glibc.close(sender) }
        for datagram in ["first", "second"] {
            _ = try Array(datagram.utf8).withUnsafeBytes { try SocketCalls.sendTo(sender, $0, address) }
        }
        try harness.run()
        #expect(received == ["first"])
        #expect(errors.isEmpty, "nothing read from the closed socket: \(errors)")
        #expect(harness.loggedErrors.isEmpty)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func explicitConnectAndClose(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let server = try UDPServer<RawCodec>(loop: harness.loop, address: "udp://127.0.0.1:0")
        try server.start()
        let client = try UDPClient<RawCodec>(loop: harness.loop, url: "udp://localhost:\(server.listener!.address.port)")
        var events: [String] = []
        client.onConnect = { _ in events.append("connect") }
        client.onClose = { _ in events.append("close") }
        try client.connect()
        try client.connect()
        #expect(client.isConnected)
        client.close(with: ByteBuffer("bye"))
        #expect(events == ["connect", "close"])
        #expect(client.onClose == nil, "callbacks dropped after close")
        server.stop()
        harness.finish()
    }

    @Test(arguments: ["udp://no-such-host.invalid:9", "udp://example.com:53"])
    func aClientNeedsANumericAddress(url: String) throws {
        let harness = try LoopHarness(.automatic)
        let client = try UDPClient<RawCodec>(loop: harness.loop, url: url)
        #expect {
            try client.connect()
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .invalidAddress && error.description.contains(url)
        }
        #expect(!client.send(ByteBuffer("x")))
        #expect(!client.isConnected)
        harness.finish()
    }
}
