// The slowloris sweep on the loop's clock: a connection that holds part of a message is closed once
// `partialMessageTimeout` has passed on a manual clock, and not a moment before; a connection whose
// message completed meanwhile is left alone. A minute of manual time costs milliseconds of wall time.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("TcpServer stall sweep on a manual clock")
struct TcpServerStallTests {
    @Test("a partial message is cut after the timeout on the loop's clock, a completed one is not")
    func sweepUsesTheLoopClock() throws {
        let clock = ManualClock()
        // The kit's harness (this target has a `LoopHarness` of its own for real time).
        let harness = try WorkermanTestSupport.LoopHarness(clock: clock)
        let loop = harness.loop
        let server = try TcpServer<LineCodec>(loop: loop, address: "tcp://127.0.0.1:0")
        server.partialMessageTimeout = 60
        var stalled: [Int] = []
        var lines: [String] = []
        server.onStalled = { connection in
            stalled.append(connection.id)
            connection.destroy()
        }
        server.onMessage = { _, line in lines.append(line) }
        try server.start()
        let url = "tcp://127.0.0.1:\(server.listener!.address.port)"

        let slow = try AsyncTcpConnection<RawCodec>(loop: loop, url: url)
        let quick = try AsyncTcpConnection<RawCodec>(loop: loop, url: url)
        slow.onConnect = { _ = $0.sendRaw("GET / HTT") }
        quick.onConnect = { _ = $0.sendRaw("half a li") }
        slow.connect()
        quick.connect()
        #expect(try harness.run(until: { server.connections.values.filter { $0.partialSince != 0 }.count == 2 }))
        let slowID = try #require(server.connections.values.first { $0.remotePort == slow.localPort }?.id)

        clock.advance(by: .seconds(30))
        _ = quick.sendRaw("ne\n")  // completes its message: no longer waiting
        #expect(try harness.run(until: { lines == ["half a line"] }))
        clock.advance(by: .seconds(29))
        // One tick that cannot block: the sweep, due again, runs in it.
        try harness.tickWithoutBlocking()
        #expect(stalled.isEmpty, "59 s of the 60 s have passed")

        clock.advance(by: .seconds(2))
        #expect(try harness.run(until: { !stalled.isEmpty }))
        #expect(stalled == [slowID], "only the connection still holding a partial message")
        #expect(try harness.run(until: { slow.status == .closed }))

        quick.close()
        server.closeAll()
        #expect(try harness.run(until: { server.connections.isEmpty && quick.status == .closed }))
        #expect(harness.finish() == [], "the sweep's timer stops once nobody waits")
    }
}
