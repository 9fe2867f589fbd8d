// TCPConnection over real sockets, one body for TCP over IPv4, TCP over IPv6 and unix sockets, on each loop
// backend: echo, addresses, byte counters, user storage, framing with a codec, send's three-way result,
// close/destroy, status transitions, pause/resume, half-closed peers and peers that reset mid-message.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("TCPConnection")
struct TCPConnectionTests {
    @Test(arguments: BackendKind.available, Family.allCases)
    func echoWithAddressesCountersAndUserInfo(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var serverSide: TCPConnection<RawCodec>?
        var userInfoSeen: Any?
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onConnect = { connection in
                serverSide = connection
                connection.userInfo["uid"] = 42
            }
            server.onMessage = { connection, bytes in
                userInfoSeen = connection.userInfo["uid"]
                connection.send(bytes)
            }
            server.onClose = { _ in harness.done() }
        }
        let listener = try #require(server.listener)
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: site.clientURL(for: listener))
        var echoed = ByteBuffer()
        var clientLocal: SocketAddress?
        var clientRemote: SocketAddress?
        client.onConnect = { client in
            clientLocal = client.localAddress
            clientRemote = client.remoteAddress
            #expect(client.send(ByteBuffer("hello")) == .written)
        }
        client.onMessage = { client, bytes in
            echoed.append(bytes)
            if echoed.readableBytes == 5 { client.close() }
        }
        client.connect()
        try harness.run()

        #expect(echoed.string == "hello")
        #expect(userInfoSeen as? Int == 42)
        let connection = try #require(serverSide)
        #expect(connection.bytesRead == 5 && connection.bytesWritten == 5)
        #expect(client.bytesRead == 5 && client.bytesWritten == 5)
        #expect(harness.context.statistics.bytesRead == 10)
        #expect(harness.context.statistics.bytesWritten == 10)
        #expect(connection.userInfo["uid"] as? Int == 42, "user storage outlives the connection")
        #expect(connection.transport == (family == .unix ? .unix : .tcp))
        #expect(client.remotePort == listener.address.port)
        #expect(clientRemote == listener.address)
        switch family {
        case .ipv4, .ipv6:
            let ip = family == .ipv4 ? "127.0.0.1" : "::1"
            #expect(connection.remoteIP == ip && client.remoteIP == ip)
            #expect(connection.remoteAddress == clientLocal, "the server sees the client's address")
            #expect(connection.remotePort == clientLocal?.port && connection.remotePort != 0)
            #expect(family == .ipv4 ? connection.remoteAddress?.isIPv4 == true : connection.remoteAddress?.isIPv6 == true)
        case .unix:
            #expect(connection.remoteIP == "" && connection.remotePort == 0)
            #expect(client.remoteAddress == listener.address)
        }
        #expect(connection.localAddress == nil && connection.localIP == "", "no local address once closed")
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func localAddressOfAnOpenConnection(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var local: SocketAddress?
        var localIP = ""
        var localPort = -1
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onConnect = { connection in
                local = connection.localAddress
                localIP = connection.localIP
                localPort = connection.localPort
                connection.close()
            }
            server.onClose = { _ in harness.done() }
        }
        let listener = try #require(server.listener)
        let peer = try RawPeer(harness, to: listener.address)
        try withExtendedLifetime(peer) { try harness.run() }
        #expect(local == listener.address)
        #expect(localPort == listener.address.port)
        #expect(localIP == (family == .ipv4 ? "127.0.0.1" : family == .ipv6 ? "::1" : ""))
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func manyMessagesArriveInOrder(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let count = 1000
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in connection.send("echo " + line) }
            server.onClose = { _ in harness.done() }
        }
        let client = try TCPClient<LineCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        var replies: [String] = []
        client.onConnect = { client in
            for index in 0..<count { client.send("message \(index)") }
        }
        client.onMessage = { client, line in
            replies.append(line)
            if replies.count == count { client.close() }
        }
        client.connect()
        try harness.run()
        #expect(replies == (0..<count).map { "echo message \($0)" })
        #expect(harness.context.statistics.totalRequest == 2 * count)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func codecMessagesSplitAcrossReadsAndSeveralInOneRead(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var peer: RawPeer?
        var inputSizes: [Int] = []
        var lines: [String] = []
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.makeCodec = {
                var codec = LineCodec()
                codec.onInput = { size in
                    inputSizes.append(size)
                    // Each time the server is left holding part of a line, the peer sends the rest.
                    if inputSizes.count == 1 { peer?.write("c\nde\nf\ng") }
                    if size == 1 { peer?.write("h\n") }
                }
                return codec
            }
            server.onMessage = { _, line in
                lines.append(line)
                if lines.count == 4 { peer?.close() }
            }
            server.onClose = { _ in harness.done() }
        }
        peer = try RawPeer(harness, to: server.listener!.address)
        peer?.write("ab")
        try harness.run()
        #expect(lines == ["abc", "de", "f", "gh"])
        #expect(inputSizes.first == 2, "the first read held only part of a line")
        #expect(harness.context.statistics.totalRequest == 4)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func aKnownLengthWaitsForTheWholeBody(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var bodies: [String] = []
        var peer: RawPeer?
        var inputSizes: [Int] = []
        let server = try harness.startServer(site, codec: LengthCodec.self) { server in
            server.makeCodec = {
                var codec = LengthCodec()
                codec.onInput = { size in
                    inputSizes.append(size)
                    // The header says 5 bytes and 2 have come: send the rest, and two more messages.
                    if inputSizes.count == 1 { peer?.write(Array("llo".utf8) + [0, 1, 120] + [0, 0]) }
                }
                return codec
            }
            server.onMessage = { _, body in
                bodies.append(body.string)
                if bodies.count == 3 { peer?.close() }
            }
            server.onClose = { _ in harness.done() }
        }
        peer = try RawPeer(harness, to: server.listener!.address)
        peer?.write([0, 5] + Array("he".utf8))
        try harness.run()
        #expect(bodies == ["hello", "x", ""])
        #expect(inputSizes.first == 4)
        #expect(!inputSizes.dropFirst().contains(7), "a known length is not asked again")
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func sendSaysWrittenQueuedOrFailed(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var results: [SendResult] = []
        var accepted: [UInt8] = []
        var errors: [TransportError] = []
        var serverSide: TCPConnection<RawCodec>?
        var peer: RawPeer?
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.maxSendBufferSize = 1 << 30
            server.onConnect = { connection in
                serverSide = connection
                shrinkSendBuffer(connection.fd)
                results.append(connection.send(ByteBuffer("hi")))
                accepted += Array("hi".utf8)
                // The peer does not read: sooner or later the kernel is full and the rest waits in the queue.
                var chunk = 0
                while chunk < 256 {
                    let bytes = pattern(64 * 1024, seed: chunk)
                    let result = connection.send(ByteBuffer(bytes))
                    accepted += bytes
                    chunk += 1
                    if result == .queued {
                        results.append(.queued)
                        break
                    }
                }
                results.append(connection.send(ByteBuffer("tail")))
                accepted += Array("tail".utf8)
                connection.close()
                #expect(connection.status == .closing)
                results.append(connection.send(ByteBuffer("too late")))
                results.append(connection.sendRaw("too late"))
                harness.loop.nextTick { peer?.isReading = true }
            }
            server.onError = { _, error in errors.append(error) }
        }
        peer = try RawPeer(harness, to: server.listener!.address, reading: false)
        peer?.onEnd = { _ in harness.done() }
        try harness.run()
        #expect(results == [.written, .queued, .queued, .failed, .failed])
        #expect(errors.isEmpty, "a send on a closing connection fails quietly")
        #expect(same(peer?.received, accepted), "everything accepted arrived, in order, before the end")
        #expect(peer?.sawEndOfStream == true)
        let connection = try #require(serverSide)
        #expect(connection.status == .closed)
        #expect(connection.send(ByteBuffer("after")) == .failed)
        #expect(connection.bytesWritten == accepted.count)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func destroyDropsQueuedOutput(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let bytes = pattern(4 << 20)
        var closes = 0
        var statusInOnClose: ConnectionStatus?
        var peer: RawPeer?
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.maxSendBufferSize = 1 << 30
            server.onConnect = { connection in
                shrinkSendBuffer(connection.fd)
                #expect(connection.send(ByteBuffer(bytes)) == .queued)
                #expect(connection.sendBufferQueueSize > 0)
                connection.destroy()
                #expect(closes == 1, "onClose fires inside destroy()")
                #expect(connection.status == .closed && connection.fd == -1)
                #expect(connection.sendBufferQueueSize == 0)
                peer?.isReading = true
            }
            server.onClose = { connection in
                closes += 1
                statusInOnClose = connection.status
            }
        }
        peer = try RawPeer(harness, to: server.listener!.address, reading: false)
        peer?.onEnd = { _ in harness.done() }
        try harness.run()
        let received = peer?.received ?? []
        #expect(received.count < bytes.count, "what was queued never left")
        #expect(same(received, Array(bytes.prefix(received.count))))
        #expect(statusInOnClose == .closed)
        #expect(closes == 1)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func clientStatusGoesInitialConnectingEstablishedClosingClosed(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var serverSide: TCPConnection<RawCodec>?
        var serverReceived = 0
        var serverClosed = false
        var clientClosed = false
        var clientClosing = false
        // The server reads only once the client has closed with output still queued (and both exist).
        func resumeServerWhenReady() {
            if clientClosing, let serverSide, serverSide.isPaused { serverSide.resumeReceiving() }
        }
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onConnect = { connection in
                #expect(connection.status == .established, "accepted connections start established")
                connection.pauseReceiving()
                serverSide = connection
                resumeServerWhenReady()
            }
            server.onMessage = { _, bytes in serverReceived += bytes.readableBytes }
            server.onClose = { _ in
                serverClosed = true
                if clientClosed { harness.done() }
            }
        }
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        #expect(client.status == .initial)
        var statusInOnConnect: ConnectionStatus?
        var statusInOnClose: ConnectionStatus?
        var sent = 0
        client.onConnect = { client in
            statusInOnConnect = client.status
            shrinkSendBuffer(client.fd)
            // The server does not read yet, so some of this waits in the client's queue.
            for chunk in 0..<256 {
                let result = client.send(ByteBuffer(pattern(64 * 1024, seed: chunk)))
                sent += 64 * 1024
                if result == .queued { break }
            }
            client.close()
            #expect(client.status == .closing)
            clientClosing = true
            resumeServerWhenReady()
        }
        client.onClose = { client in
            statusInOnClose = client.status
            clientClosed = true
            if serverClosed { harness.done() }
        }
        client.connect()
        // A unix connect completes inside connect(), onConnect and all.
        #expect(client.status == (family == .unix ? .closing : .connecting))
        try harness.run()
        #expect(statusInOnConnect == .established)
        #expect(statusInOnClose == .closed)
        #expect(client.status == .closed)
        #expect(serverReceived == sent, "close() sent everything queued before closing")
        harness.finish()
    }
}
