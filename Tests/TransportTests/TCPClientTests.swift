// TCPClient, the client: sends before the connection is up, refused and unresolvable addresses,
// names resolved off the loop, reconnect(after:), cancelReconnect() and close() during a
// pending reconnect. Loopback only. Connect timeouts: ManualClockTimeoutTests.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("TCPClient")
struct TCPClientTests {
    @Test(arguments: BackendKind.available, Family.allCases)
    func sendsBeforeConnectingAreQueuedAndFlushedInOrder(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var lines: [String] = []
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in
                lines.append(line)
                if lines.count == 3 { connection.close() }
            }
        }
        let client = try TCPClient<LineCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        #expect(client.send("early 1") == .queued)
        #expect(client.sendBufferQueueSize == 8)
        client.onConnect = { client in
            #expect(client.send("on connect") == .queued, "still behind what was queued before connecting")
        }
        client.onClose = { _ in harness.done() }
        client.connect()
        if family == .unix {
            // A unix connect completes inside connect(): onConnect ran and the queue was flushed.
            #expect(client.status == .established)
            #expect(client.send("after connect") == .written)
            try harness.run()
            #expect(lines == ["early 1", "on connect", "after connect"])
        } else {
            #expect(client.status == .connecting)
            #expect(client.send("after connect") == .queued)
            try harness.run()
            #expect(lines == ["early 1", "after connect", "on connect"])
        }
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func sendsBeforeConnectingFollowTheBufferFullRule(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        var received = 0
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onMessage = { connection, bytes in
                received += bytes.readableBytes
                if received == 3000 { connection.close() }
            }
        }
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        client.maxSendBufferSize = 1000
        var errors: [TransportError] = []
        var fulls = 0
        client.onError = { _, error in errors.append(error) }
        client.onBufferFull = { _ in fulls += 1 }
        client.onClose = { _ in harness.done() }
        #expect(client.send(filler(500, 1)) == .queued)
        #expect(client.send(filler(2500, 2)) == .queued, "below the limit: accepted whole")
        #expect(fulls == 1)
        #expect(client.send(filler(1, 3)) == .failed, "at the limit: refused")
        #expect(errors.map(\.code) == [.sendFailed])
        #expect(errors.first?.description.contains("send buffer full and drop package") == true)
        client.connect()
        try harness.run()
        #expect(received == 3000)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func aClientNobodyKeepsStillRuns(backend: BackendKind, family: Family) throws {
        // As Workerman's static connection map does, the loop's context holds a client from connect() until
        // it closes for good.
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in connection.send("re: " + line) }
        }
        var reply: String?
        weak var weakClient: TCPClient<LineCodec>?
        do {
            let client = try TCPClient<LineCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
            client.onConnect = { client in client.send("anyone there?") }
            client.onMessage = { client, line in
                reply = line
                client.close()
            }
            client.onClose = { _ in harness.done() }
            client.connect()
            weakClient = client
        }
        #expect(weakClient != nil, "kept while connecting")
        try harness.run()
        #expect(reply == "re: anyone there?")
        #expect(weakClient == nil, "let go once closed")
        server.closeAll()
        harness.finish()
    }

    @Test(arguments: BackendKind.available, [Family.ipv4, .ipv6])
    func connectingToAClosedPortFailsThenCloses(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let (holder, port) = try refusingPort(family)
        defer { _ = Glibc.close(holder) }
        let host = family == .ipv6 ? "[::1]" : "127.0.0.1"
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: "tcp://\(host):\(port)")
        var events: [String] = []
        var error: TransportError?
        var statusInOnError: ConnectionStatus?
        client.onError = { client, failure in
            events.append("error")
            error = failure
            statusInOnError = client.status
        }
        client.onClose = { client in
            events.append("close")
            #expect(client.status == .closed)
            harness.done()
        }
        client.onConnect = { _ in events.append("connect") }
        #expect(client.send(ByteBuffer("never sent")) == .queued)
        client.connect()
        try harness.run()
        #expect(events == ["error", "close"])
        #expect(error?.code == .connectFailed)
        #expect(error?.cause == .connectionRefused)
        #expect(error?.description.contains("\(host):\(port)") == true, "\(String(describing: error))")
        #expect(statusInOnError == .closing, "Workerman: CLOSING during onError, then CLOSED")
        #expect(client.sendBufferQueueSize == 0)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func connectingToAMissingUnixSocketFailsThenCloses(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.unix)
        defer { site.remove() }
        let path = "\(site.directory!)/nobody-listens.sock"
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: "unix://\(path)")
        let outcome = ConnectOutcome(of: client, in: harness)
        client.connect()
        try harness.run()
        #expect(outcome.events == ["error", "close"])
        #expect(outcome.error?.code == .connectFailed)
        #expect(outcome.error?.description.contains(path) == true)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func anUnresolvableNameFailsWithoutBlockingTheLoop(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: "tcp://no-such-host.invalid:80")
        let outcome = ConnectOutcome(of: client, in: harness)
        client.connect()
        // connect() returns before the name is looked up: the loop is free meanwhile.
        #expect(outcome.events.isEmpty)
        #expect(client.status == .connecting)
        try harness.run(timeout: 30)
        #expect(outcome.events == ["error", "close"])
        #expect(outcome.error?.code == .unresolvable || outcome.error?.code == .connectFailed)
        #expect(
            outcome.error?.description.contains("no-such-host.invalid") == true,
            "\(String(describing: outcome.error))"
        )
        #expect(client.status == .closed)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, ["localhost", "127.1"])
    func namesReachTheServer(backend: BackendKind, host: String) throws {
        // `localhost` is mapped without a lookup; `127.1` is not a numeric address to inet_pton, so it goes
        // through the resolver thread (getaddrinfo reads it as 127.0.0.1).
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in connection.send(line.uppercased()) }
        }
        let client = try TCPClient<LineCodec>(loop: harness.loop, url: "tcp://\(host):\(server.listener!.address.port)")
        var reply: String?
        client.onConnect = { client in client.send("hi") }
        client.onMessage = { client, line in
            reply = line
            client.close()
        }
        client.onClose = { _ in harness.done() }
        client.connect()
        try harness.run()
        #expect(reply == "HI")
        #expect(client.remoteIP == "127.0.0.1")
        server.closeAll()
        harness.finish()
    }

    @Test(arguments: BackendKind.available, [0.0, 0.01])
    func reconnectFromOnCloseConnectsAgain(backend: BackendKind, delay: Double) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        var accepted = 0
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onConnect = { connection in
                accepted += 1
                // The first connection is dropped by the server; the client comes back.
                if accepted == 1 { connection.close() }
            }
            server.onMessage = { connection, line in connection.send("re: " + line) }
        }
        let client = try TCPClient<LineCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
        var connects = 0
        var closes = 0
        var replies: [String] = []
        let firstID = client.id
        client.onConnect = { client in
            connects += 1
            if connects == 2 { client.send("again") }
        }
        client.onMessage = { client, line in
            replies.append(line)
            client.close()
        }
        client.onClose = { client in
            closes += 1
            if closes == 1 {
                client.reconnect(after: delay)
            } else {
                harness.done()
            }
        }
        client.connect()
        try harness.run()
        #expect(connects == 2 && closes == 2)
        #expect(replies == ["re: again"])
        #expect(accepted == 2)
        #expect(client.id == firstID)
        #expect(client.status == .closed)
        server.closeAll()
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func cancelReconnectStopsAPendingReconnect(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let client = try clientOfAServerThatHangsUp(harness)
        var connects = 0
        var closes = 0
        var timersWhilePending = -1
        client.onConnect = { _ in connects += 1 }
        client.onClose = { client in
            closes += 1
            guard closes == 1 else { return }
            let before = harness.loop.timerCount
            client.reconnect(after: 0.02)
            timersWhilePending = harness.loop.timerCount - before
            client.cancelReconnect()
            #expect(harness.loop.timerCount == before)
            // Wait past the moment the reconnect would have happened.
            try harness.loop.addTimer(after: 0.05) { harness.done() }
        }
        client.connect()
        try harness.run()
        #expect(connects == 1)
        #expect(timersWhilePending == 1)
        #expect(client.status == .initial && !client.isReconnectPending)
        client.close()
        #expect(client.status == .closed && !client.isReconnectPending)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func closeCancelsAPendingReconnect(backend: BackendKind) throws {
        // The usual pattern: onClose always reconnects. close() while the reconnect waits must end it for good.
        let harness = try LoopHarness(backend)
        let client = try clientOfAServerThatHangsUp(harness)
        var connects = 0
        var closes = 0
        client.onConnect = { _ in connects += 1 }
        client.onClose = { client in
            closes += 1
            client.reconnect(after: 0.02)
            if closes == 1 {
                harness.loop.nextTick {
                    #expect(client.status == .initial, "waiting to reconnect")
                    client.close()
                    #expect(client.status == .closed)
                    try harness.loop.addTimer(after: 0.05) { harness.done() }
                }
            }
        }
        client.connect()
        try harness.run()
        #expect(connects == 1, "no connection after close()")
        // As in Workerman, closing a client that waits to reconnect fires onClose again; the reconnect that
        // onClose asks for is cancelled too.
        #expect(closes == 2)
        #expect(client.status == .closed)
        #expect(!client.isReconnectPending)
        #expect(client.onClose == nil, "callbacks dropped: closed for good")
        harness.finish()
    }
}

/// A client, not yet connected, of a loopback server that closes every connection it accepts: each
/// connect ends in onClose, where the reconnect tests act.
private func clientOfAServerThatHangsUp(_ harness: LoopHarness) throws -> TCPClient<RawCodec> {
    let site = try TestSite(.ipv4)
    let server = try harness.startServer(site, codec: RawCodec.self) { server in
        server.onConnect = { connection in connection.close() }
    }
    return try TCPClient<RawCodec>(loop: harness.loop, url: site.clientURL(for: server.listener!))
}

/// What a client that cannot connect reports, in order: `onError` then `onClose`, which ends the run.
private final class ConnectOutcome {
    private(set) var events: [String] = []
    private(set) var error: TransportError?

    init(of client: TCPClient<RawCodec>, in harness: LoopHarness) {
        client.onError = { _, failure in
            self.events.append("error")
            self.error = failure
        }
        client.onClose = { _ in
            self.events.append("close")
            harness.done()
        }
    }
}
