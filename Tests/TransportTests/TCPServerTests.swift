// TCPServer: settings copied onto accepted connections, pause/resume of accepting, stop() versus closeAll(),
// a server the program keeps no reference to, and EMFILE: accepting backs off instead of spinning, and
// resumes once descriptors are free again.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("TCPServer")
struct TCPServerTests {
    @Test(arguments: BackendKind.available, Family.allCases)
    func acceptedConnectionsGetTheServersSettings(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var codecsMade = 0
        var accepted: [TCPConnection<LineCodec>] = []
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.maxSendBufferSize = 12_345
            server.maxPackageSize = 678
            server.makeCodec = {
                codecsMade += 1
                var codec = LineCodec()
                codec.maxLine = 100 + codecsMade
                return codec
            }
            server.onConnect = { connection in
                accepted.append(connection)
                if accepted.count == 2 { harness.done() }
            }
            server.onMessage = { connection, line in connection.send(line) }
        }
        #expect(server.isAccepting)
        let peers = try (0..<2).map { _ in try RawPeer(harness, to: server.listener!.address) }
        try harness.run()
        #expect(accepted.count == 2 && codecsMade == 2)
        #expect(Set(accepted.map(\.id)).count == 2)
        #expect(Set(accepted.map(\.codec.maxLine)) == [101, 102], "one codec per connection")
        for connection in accepted {
            #expect(connection.maxSendBufferSize == 12_345)
            #expect(connection.maxPackageSize == 678)
            #expect(connection.onMessage != nil)
            #expect(server.connections[connection.id] === connection)
            #expect(connection.codecName == "LineCodec")
        }
        for peer in peers { peer.close() }
        server.closeAll()
        #expect(server.connections.isEmpty && server.listener == nil)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func pauseAcceptLeavesConnectionsWaitingUntilResumed(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var accepted = 0
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.onConnect = { connection in
                accepted += 1
                connection.close()
                harness.done()
            }
        }
        let listener = try #require(server.listener)
        server.pauseAccept()
        server.pauseAccept()
        #expect(!server.isAccepting)
        #expect(harness.loop.interest(for: listener.fd) == [])
        let peer = try RawPeer(harness, to: listener.address)
        // The connection waits in the backlog; ticks pass and nobody takes it.
        var pending = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&pending, 1, 5000) == 1)
        for _ in 0..<3 {
            harness.loop.nextTick {}
            try harness.loop.tick()
        }
        #expect(accepted == 0)
        server.resumeAccept()
        server.resumeAccept()
        #expect(server.isAccepting)
        try harness.run()
        #expect(accepted == 1)
        peer.close()
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func stopKeepsConnectionsAndCloseAllFlushesAndClosesThem(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let big = pattern(1 << 20)
        var accepted: [TCPConnection<LineCodec>] = []
        var closes = 0
        var peers: [RawPeer] = []
        let listenPath = "\(site.directory ?? "")/s.sock"
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.maxSendBufferSize = 1 << 30
            // Unowned: the server holds this closure, which would otherwise hold the server for ever.
            server.onConnect = { [unowned server] connection in
                accepted.append(connection)
                guard accepted.count == 2 else { return }
                // Stopping from inside the accept loop: no accept may follow on the closed listener.
                server.stop()
                #expect(server.listener == nil && !server.isAccepting)
                #expect(server.connections.count == 2, "stop() leaves connections open")
                if family == .unix { #expect(access(listenPath, F_OK) != 0, "socket file removed") }
                harness.loop.nextTick {
                    // Still serving, without a listener: both say hello through the open connections.
                    for peer in peers { peer.write("hello\n") }
                }
            }
            server.onMessage = { [unowned server] connection, line in
                connection.send(line)
                guard accepted.allSatisfy({ $0.bytesRead > 0 }) else { return }
                // closeAll() sends what is queued before closing.
                for connection in accepted {
                    shrinkSendBuffer(connection.fd)
                    connection.sendRaw(ByteBuffer(big))
                }
                server.closeAll()
                #expect(accepted.allSatisfy { $0.status == .closing || $0.status == .closed })
            }
            server.onClose = { _ in closes += 1 }
        }
        let listener = try #require(server.listener)
        peers = try (0..<2).map { _ in try RawPeer(harness, to: listener.address) }
        var ended = 0
        for peer in peers {
            peer.onEnd = { _ in
                ended += 1
                if ended == 2 { harness.done() }
            }
        }
        try harness.run()
        #expect(closes == 2)
        #expect(harness.loggedErrors.isEmpty, "nothing touched the closed listener: \(harness.loggedErrors)")
        for peer in peers {
            #expect(peer.received.count == 6 + big.count)
            #expect(same(Array(peer.received.dropFirst(6)), big))
        }
        #expect(server.connections.isEmpty)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func aServerNobodyKeepsServesUntilStopped(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        weak var weakServer: TCPServer<LineCodec>?
        let address: SocketAddress
        do {
            let server = try TCPServer<LineCodec>(loop: harness.loop, address: site.listenAddress())
            server.onMessage = { connection, line in connection.close(with: line.uppercased()) }
            try server.start()
            weakServer = server
            address = server.listener!.address
        }
        #expect(weakServer != nil, "the loop keeps a listening server")
        let peer = try RawPeer(harness, to: address)
        peer.write("hi\n")
        peer.onEnd = { _ in harness.done() }
        try harness.run()
        #expect(peer.receivedText == "HI\n")
        peer.close()
        weakServer?.stop()
        #expect(weakServer == nil, "released once stopped with no connections")
        harness.finish()
    }

    /// `acceptBatch` bounds the accepts per readiness event: processes sharing a listener take one each
    /// per wake-up, so a burst splits between them; a lone server takes the whole burst at once.
    @Test(arguments: [1, 64])
    func acceptBatchBoundsAcceptsPerWakeUp(batch: Int) throws {
        let harness = try LoopHarness(.epoll)
        let site = try TestSite(.ipv4)
        let server = try harness.startServer(site, codec: LineCodec.self) { $0.options.acceptBatch = batch }
        let peers = try (0..<3).map { _ in try RawPeer(harness, to: server.listener!.address) }
        // Loopback completes the handshakes at connect time: all three wait in the accept queue now.
        let deadline = MonotonicClock.now() + 5_000_000_000
        while server.connections.isEmpty && MonotonicClock.now() < deadline { try harness.loop.tick() }
        #expect(server.connections.count == min(batch, 3))
        while server.connections.count < 3 && MonotonicClock.now() < deadline { try harness.loop.tick() }
        #expect(server.connections.count == 3, "the rest are accepted on the next wake-ups")
        server.closeAll()
        peers.forEach { $0.close() }
        harness.finish()
    }

    @Test func outOfDescriptorsBacksOffAndResumes() async {
        // RLIMIT_NOFILE is process-wide: this runs in a child process.
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            exitIfAnyFailed(TCPServerTests.acceptUnderEMFILE())
        }
        recordChildErrors(result)
    }

    /// In the child: fill the descriptor table so accept fails with EMFILE, check the server backs off
    /// (one failure, not a spinning loop), then free descriptors and check it accepts.
    static func acceptUnderEMFILE() -> [String] {
        var failures: [String] = []
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { failures.append(message()) }
        }
        do {
            let loop = try EventLoop(backend: .epoll)
            let context = TransportContext.of(loop)
            var logged: [String] = []
            loop.errorHandler = { error in logged.append("\(error)") }
            let server = try TCPServer<RawCodec>(loop: loop, address: "tcp://127.0.0.1:0")
            server.acceptBackoff = 0.02
            var accepted = 0
            server.onConnect = { connection in
                accepted += 1
                connection.close()
                loop.stop()
            }
            try server.start()
            let listener = server.listener!
            // Leave room for the client socket only, then fill every other descriptor.
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
            var limit = rlimit()
            getrlimit(resource, &limit)
            limit.rlim_cur = 256
            setrlimit(resource, &limit)
            var fillers: [CInt] = []
            while true {
                let fd = dup(listener.fd)
                if fd < 0 { break }
                fillers.append(fd)
            }
            guard let spare = fillers.popLast() else { return ["could not fill the descriptor table"] }
            _ = Glibc.close(spare)
            let client = try SocketCalls.socket(domain: AF_INET, type: CInt(SOCK_STREAM.rawValue))
            _ = try SocketCalls.connect(client, listener.address)
            var pending = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            check(poll(&pending, 1, 5000) == 1, "no pending connection")
            // The first accept fails: the server pauses accepting; free descriptors a little later.
            var freed = false
            var pollsWhilePaused = 0
            let freer = try loop.addTimer(every: 0.005) {
                guard context.statistics.acceptFailures > 0, !freed else { return }
                pollsWhilePaused += 1
                if pollsWhilePaused == 1 {
                    check(!server.isAccepting, "accepting not paused after EMFILE")
                    check(loop.interest(for: listener.fd) == [], "listener still watched while backing off")
                }
                if pollsWhilePaused == 3 {
                    freed = true
                    for fd in fillers { _ = Glibc.close(fd) }
                    fillers = []
                }
            }
            let guardTimer = try loop.addTimer(after: 10) {
                failures.append("timed out")
                loop.stop()
            }
            try loop.run()
            loop.cancelTimer(freer)
            loop.cancelTimer(guardTimer)
            for fd in fillers { _ = Glibc.close(fd) }
            _ = Glibc.close(client)
            check(accepted == 1, "accepted \(accepted)")
            check(context.statistics.acceptFailures >= 1, "no accept failure counted")
            check(context.statistics.acceptFailures <= 3, "accept retried \(context.statistics.acceptFailures) times: spinning")
            check(logged.first?.contains("out of file descriptors") == true, "logged: \(logged)")
            check(server.isAccepting, "accepting did not resume")
            server.stop()
            loop.close()
        } catch {
            failures.append("\(error)")
        }
        return failures
    }
}
