// Transport timeouts on the loop's clock, driven by a `ManualClock`: minutes of loop time cost
// milliseconds of wall time, and each deadline is checked from both sides (one step short: nothing; one
// step past: it fires).
// - The slowloris sweep: a connection holding part of a message is cut once `partialMessageTimeout` has
//   passed; one whose message completed meanwhile is left alone.
// - The connect timeout: a connect the kernel leaves unanswered fails with ETIMEDOUT.
//
// These use the kit's `LoopHarness` (`WorkermanTestSupport.LoopHarness`: this target has one of its own,
// for real time): its `run(until:)` is bounded by wall time, which a manual clock never moves.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

@Suite("Transport timeouts on a manual clock")
struct ManualClockTimeoutTests {
    @Test("a partial message is cut after the timeout on the loop's clock, a completed one is not")
    func sweepUsesTheLoopClock() throws {
        let clock = ManualClock()
        let harness = try WorkermanTestSupport.LoopHarness(clock: clock)
        let loop = harness.loop
        let server = try TCPServer<LineCodec>(loop: loop, address: "tcp://127.0.0.1:0")
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

        let slow = try TCPClient<RawCodec>(loop: loop, url: url)
        let quick = try TCPClient<RawCodec>(loop: loop, url: url)
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

    @Test(
        "a connect left unanswered fails after connectTimeout of loop time, and not a moment before",
        arguments: BackendKind.available, [Family.ipv4, .ipv6]
    )
    func connectTimeout(backend: BackendKind, family: Family) throws {
        let clock = ManualClock()
        let harness = try WorkermanTestSupport.LoopHarness(backend: backend, clock: clock)
        let site = try TestSite(family)
        defer { site.remove() }
        // A backlog of 0 holds one finished handshake; while nobody accepts, the kernel drops the next
        // SYN, so the second connect stays in progress until the timeout decides.
        var options = ListenOptions()
        options.backlog = 0
        let server = try TCPServer<RawCodec>(loop: harness.loop, address: site.listenAddress(), options: options)
        try server.start()
        harness.onTeardown { server.closeAll() }
        server.pauseAccept()
        let url = site.clientURL(for: server.listener!)
        let filler = try TCPClient<RawCodec>(loop: harness.loop, url: url)
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: url)
        client.connectTimeout = 10
        var events: [String] = []
        var failure: TransportError?
        client.onConnect = { _ in events.append("connect") }
        client.onError = { _, error in
            events.append("error")
            failure = error
        }
        client.onClose = { _ in events.append("close") }
        filler.onConnect = { _ in client.connect() }
        filler.connect()
        #expect(try harness.run(until: { client.status == .connecting }))

        clock.advance(by: .milliseconds(9_999))
        try harness.tickWithoutBlocking()
        #expect(events.isEmpty, "9.999 s of the 10 s have passed")

        clock.advance(by: .milliseconds(2))
        #expect(try harness.run(until: { events == ["error", "close"] }))
        #expect(failure?.code == .connectFailed)
        #expect(failure?.cause == .timedOut)
        #expect(failure?.detail == "no answer within 10.0 s")
        #expect(failure?.description.contains(url) == true, "\(String(describing: failure))")

        filler.close()
        #expect(harness.finishClosingConnections() == [])
    }
}
