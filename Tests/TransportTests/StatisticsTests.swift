// The per-process counters `status` shows and the `connections` listing: open sockets, total_request,
// packet_err, thunder_herd, client_close, send_fail, throw_exception, bytes; a throwing callback is logged,
// counted and closes only its own connection.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Statistics")
struct StatisticsTests {
    @Test(arguments: BackendKind.available, Family.allCases)
    func countersOfOneConversation(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var openInOnConnect = -1
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onConnect = { _ in openInOnConnect = harness.context.statistics.connections }
            server.onMessage = { connection, line in connection.send(line.uppercased()) }
            server.onClose = { _ in harness.done() }
        }
        let client = try TCPClient<LineCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        var replies: [String] = []
        client.onConnect = { client in client.sendRaw("a\nb\nc\n") }
        client.onMessage = { client, line in
            replies.append(line)
            if replies.count == 3 { client.close() }
        }
        client.connect()
        try harness.run()
        let statistics = harness.context.statistics
        #expect(openInOnConnect == 2, "the client's socket and the accepted one")
        #expect(statistics.connections == 0)
        #expect(statistics.totalRequest == 6, "three lines each way")
        #expect(statistics.bytesRead == 12 && statistics.bytesWritten == 12)
        #expect(statistics.clientClose == 1, "the server saw its peer close first")
        #expect(statistics.packetErr == 0 && statistics.sendFail == 0 && statistics.throwException == 0)
        #expect(statistics.thunderHerd == 0)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func connectionListingShowsAddressesAndQueues(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var listing: [ConnectionInfo] = []
        var serverSide: TCPConnection<LineCodec>?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.maxSendBufferSize = 1 << 30
            server.onConnect = { connection in
                serverSide = connection
                shrinkSendBuffer(connection.fd)
            }
            server.onMessage = { connection, line in
                guard line == "one" else { return }
                connection.pauseReceiving()  // "two\n" waits in the receive buffer
                harness.loop.nextTick {
                    connection.send(letters(1 << 20))
                    listing = harness.context.connectionListing
                    connection.destroy()
                }
            }
        }
        let listener = try #require(server.listener)
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: site.clientURL(for: listener))
        var clientLocal = ""
        client.onConnect = { client in
            clientLocal = client.localAddress?.description ?? "?"
            client.sendRaw("one\ntwo\n")
        }
        client.onClose = { _ in harness.done() }
        client.connect()
        try harness.run()

        #expect(listing.count == 2)
        let clientRow = try #require(listing.first { $0.id == client.id })
        let serverRow = try #require(listing.first { $0.id == serverSide?.id })
        #expect(listing.map(\.id) == listing.map(\.id).sorted())
        let transport: TransportKind = family == .unix ? .unix : .tcp
        #expect(clientRow.transport == transport && serverRow.transport == transport)
        #expect(clientRow.codec == "raw")
        #expect(serverRow.codec == "LineCodec")
        #expect(clientRow.status == .established && serverRow.status == .established)
        #expect(clientRow.remoteAddress == listener.address.description)
        #expect(serverRow.localAddress == listener.address.description)
        #expect(clientRow.localAddress == clientLocal)
        #expect(serverRow.remoteAddress == (family == .unix ? "" : clientLocal))
        #expect(serverRow.receiveQueue == 4)
        #expect(serverRow.sendQueue > 0)
        #expect(serverRow.bytesRead == 8 && clientRow.bytesWritten == 8)
        #expect(harness.context.connectionListing.isEmpty)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func throwingCallbacksAreLoggedCountedAndCloseOnlyTheirConnection(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        var closes = 0
        var healthy: RawPeer?
        var failing: RawPeer?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in
                if line == "throw" { throw DeliberateFailure() }
                connection.send(line)
            }
            server.onClose = { _ in
                closes += 1
                if closes == 1 { healthy?.write("still here\n") }
                if closes == 2 { harness.done() }
                throw DeliberateFailure()  // a throwing onClose is logged and counted too
            }
        }
        healthy = try RawPeer(harness, to: server.listener!.address)
        healthy?.onData = { peer in
            if peer.receivedText == "still here\n" { peer.close() }
        }
        failing = try RawPeer(harness, to: server.listener!.address)
        failing?.write("throw\nnever\n")
        try harness.run()

        #expect(healthy?.receivedText == "still here\n", "the other connection was not disturbed")
        #expect(failing?.receivedText == "", "nothing after the throw was answered")
        #expect(closes == 2)
        let statistics = harness.context.statistics
        #expect(statistics.throwException == 3, "onMessage once, onClose twice")
        let failures = harness.loggedErrors.compactMap { $0 as? CallbackFailure }
        #expect(failures.map(\.callback) == [.onMessage, .onClose, .onClose])
        #expect(failures.allSatisfy { $0.error is DeliberateFailure })
        #expect(statistics.totalRequest == 2)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func aThrowingOnConnectClosesTheConnection(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        var closes = 0
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onConnect = { _ in throw DeliberateFailure() }
            server.onClose = { _ in closes += 1 }
        }
        let peer = try RawPeer(harness, to: server.listener!.address)
        peer.onEnd = { _ in harness.done() }
        try harness.run()
        #expect(peer.sawEndOfStream)
        #expect(closes == 1)
        #expect(harness.context.statistics.throwException == 1)
        #expect((harness.loggedErrors.first as? CallbackFailure)?.callback == .onConnect)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func thunderHerdCountsAnAcceptThatFoundNothing(backend: BackendKind) throws {
        // Two servers on one listening socket (as children sharing an inherited listener): the connection is
        // pending before the loop polls, so both see it ready; one accepts, the other finds nothing.
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        var accepted: [TCPConnection<RawCodec>] = []
        let first = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onConnect = { connection in
                accepted.append(connection)
                harness.done()
            }
        }
        let listener = try #require(first.listener)
        let copy = dup(listener.fd)
        try #require(copy >= 0)
        let adopted: Listener
        do {
            adopted = try Listener(adopting: copy, endpoint: listener.endpoint)
        } catch {
            _ = Glibc.close(copy)
            throw error
        }
        let second = TCPServer<RawCodec>(loop: harness.loop, endpoint: listener.endpoint)
        second.onConnect = first.onConnect
        try second.start(adopting: adopted)
        harness.track(second)
        let peer = try RawPeer(harness, to: listener.address)
        var pending = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&pending, 1, 5000) == 1, "the connection is waiting to be accepted")
        try harness.run()
        #expect(accepted.count == 1)
        #expect(harness.context.statistics.thunderHerd == 1)
        #expect(adopted.address == listener.address)
        for connection in accepted { connection.destroy() }
        peer.close()
        second.stop()
        #expect(first.listener != nil, "stopping the adopter leaves the original listening")
        harness.finish()
    }

    @Test func aStoppedServerLeavesTheListing() throws {
        let harness = try LoopHarness(.automatic)
        let site = try TestSite(.ipv4)
        do {
            let server = try TCPServer<RawCodec>(loop: harness.loop, address: site.listenAddress())
            try server.start()
            server.stop()
        }
        // The server is gone; listing the loop's connections must not reach for it.
        #expect(harness.context.connectionListing.isEmpty)
        harness.finish()
    }
}
