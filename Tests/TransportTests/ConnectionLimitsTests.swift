// ConnectionLimits in TCPServer's accept path, over loopback: twice the allowed connections (the extra
// ones wait in the backlog and are served once one closes), the per-IP limit, the idle timeout, and the
// settings that cannot be.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

extension LoopHarness {
    /// Ticks until `condition` holds, for at most `seconds`; whether it did. A pacer timer bounds each poll.
    func spin(until condition: () -> Bool, within seconds: Double = 5) throws -> Bool {
        if condition() { return true }
        let pacer = try loop.addTimer(every: 0.002) {}
        defer { loop.cancelTimer(pacer) }
        let deadline = MonotonicClock.now() + UInt64(seconds * 1e9)
        while MonotonicClock.now() < deadline {
            try loop.tick()
            if condition() { return true }
        }
        return false
    }
}

@Suite("ConnectionLimits")
struct ConnectionLimitsTests {
    @Test(arguments: BackendKind.available)
    func twiceMaxConnectionsWaitUntilOneCloses(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.limits.maxConnections = 2
            server.onMessage = { connection, line in connection.send(line + "\n") }
        }
        let address = try #require(server.listener?.address)
        let peers = try (0..<4).map { index in
            let peer = try RawPeer(harness, to: address)
            peer.write("hello \(index)\n")
            return peer
        }
        let answered = { peers.filter { !$0.received.isEmpty }.count }
        #expect(try harness.spin(until: { answered() == 2 }))
        // A few more ticks: the other two stay in the backlog, unanswered.
        #expect(try !harness.spin(until: { answered() > 2 }, within: 0.2))
        #expect(answered() == 2 && server.connections.count == 2 && !server.isAccepting)
        #expect(harness.context.statistics.limitHits == 1)
        let first = try #require(peers.first { !$0.received.isEmpty })
        first.close()
        #expect(try harness.spin(until: { answered() == 3 }))
        #expect(server.connections.count == 2)
        let second = try #require(peers.first { $0 !== first && !$0.received.isEmpty })
        second.close()
        #expect(try harness.spin(until: { answered() == 4 }), "the last waiting one is served once another left")
        for peer in peers { peer.close() }
        #expect(try harness.spin(until: { server.connections.isEmpty }))
        harness.finish()
    }

    @Test func anOverLimitHandlerAnswersTheExtraConnections() throws {
        let harness = try LoopHarness(.automatic)
        let site = try TestSite(.ipv4)
        var refused = 0
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.limits.maxConnections = 1
            server.onMessage = { connection, line in connection.send(line + "\n") }
            server.onOverLimit = { connection in
                refused += 1
                connection.close(with: "busy")
            }
        }
        let address = try #require(server.listener?.address)
        let admitted = try RawPeer(harness, to: address)
        admitted.write("one\n")
        #expect(try harness.spin(until: { !admitted.received.isEmpty }))
        let extra = try RawPeer(harness, to: address)
        #expect(try harness.spin(until: { extra.sawEndOfStream }))
        #expect(String(decoding: extra.received, as: UTF8.self) == "busy\n")
        #expect(refused == 1 && harness.context.statistics.limitHits == 1)
        admitted.close()
        #expect(try harness.spin(until: { server.connections.isEmpty }))
        harness.finish()
    }

    @Test func aSecondConnectionFromOneIPIsClosed() throws {
        let harness = try LoopHarness(.automatic)
        let site = try TestSite(.ipv4)
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.limits.maxConnectionsPerIP = 1
            server.onMessage = { connection, line in connection.send(line + "\n") }
        }
        let address = try #require(server.listener?.address)
        let first = try RawPeer(harness, to: address)
        first.write("a\n")
        #expect(try harness.spin(until: { !first.received.isEmpty }))
        let second = try RawPeer(harness, to: address)
        #expect(try harness.spin(until: { second.sawEndOfStream || second.readError != nil }))
        #expect(second.received.isEmpty)
        #expect(harness.context.statistics.limitHits == 1)
        first.close()
        #expect(try harness.spin(until: { server.connections.isEmpty }))
        let third = try RawPeer(harness, to: address)
        third.write("c\n")
        #expect(try harness.spin(until: { !third.received.isEmpty }), "the IP's count went down when the first closed")
        third.close()
        #expect(try harness.spin(until: { server.connections.isEmpty }))
        harness.finish()
    }

    @Test func idleConnectionsCloseAfterTheTimeoutButNotOneHoldingHalfAMessage() throws {
        let harness = try LoopHarness(.automatic)
        let site = try TestSite(.ipv4)
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.limits.idleTimeout = 0.2
            server.onMessage = { connection, line in connection.send(line + "\n") }
        }
        let address = try #require(server.listener?.address)
        let idle = try RawPeer(harness, to: address)
        idle.write("x\n")
        let halfway = try RawPeer(harness, to: address)
        halfway.write("no newline yet")
        #expect(try harness.spin(until: { idle.sawEndOfStream }, within: 5))
        #expect(!idle.received.isEmpty, "answered before it went idle")
        #expect(!halfway.sawEndOfStream)
        #expect(harness.context.statistics.idleCloses == 1)
        halfway.close()
        #expect(try harness.spin(until: { server.connections.isEmpty }))
        harness.finish()
    }

    @Test func settingsThatCannotBeAreNamed() {
        #expect(ConnectionLimits(maxConnections: 0).problem?.hasPrefix("maxConnections must be at least 1") == true)
        #expect(ConnectionLimits(maxConnectionsPerIP: -3).problem?.hasPrefix("maxConnectionsPerIP must") == true)
        #expect(ConnectionLimits(idleTimeout: 0).problem?.hasPrefix("idleTimeout must") == true)
        #expect(ConnectionLimits(idleTimeout: .nan).problem?.hasPrefix("idleTimeout must") == true)
        #expect(ConnectionLimits(maxConnections: 1, maxConnectionsPerIP: 1, idleTimeout: 0.5).problem == nil)
    }
}
