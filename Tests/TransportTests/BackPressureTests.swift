// Back-pressure over real sockets: Workerman's buffer-full rule (refuse only when the queue is already at
// maxSendBufferSize, so one oversized message is accepted), onBufferFull/onBufferDrain, a client that never
// reads, and pipe(to:) both ways as a proxy. One body for TCP over IPv4 and IPv6 and unix sockets, on each
// loop backend.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Back-pressure")
struct BackPressureTests {
    @Test(arguments: BackendKind.available, Family.allCases)
    func workermansBufferFullRule(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let limit = 64 * 1024
        var expected: [UInt8] = []
        var errors: [TransportError] = []
        var fulls = 0
        var drains = 0
        var closes = 0
        var peer: RawPeer?
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.maxSendBufferSize = limit
            server.onConnect = { connection in
                shrinkSendBuffer(connection.fd)
                // Fill the kernel until a send has to queue: the queue then holds less than one small chunk.
                var result = SendResult.written
                for _ in 0..<100_000 where result == .written {
                    result = connection.send(filler(1024, UInt8(ascii: "a")))
                    expected += [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
                }
                #expect(result == .queued)
                #expect(connection.sendBufferQueueSize > 0 && connection.sendBufferQueueSize < limit)
                #expect(fulls == 0)

                // Below the limit, even a message four times the limit is accepted whole.
                #expect(connection.send(filler(4 * limit, UInt8(ascii: "b"))) == .queued)
                expected += [UInt8](repeating: UInt8(ascii: "b"), count: 4 * limit)
                #expect(fulls == 1)
                #expect(connection.sendBufferQueueSize >= limit)
                #expect(connection.sendBufferQueueSize <= 5 * limit)

                // At the limit, the next message is refused and dropped; the connection stays open.
                #expect(connection.send(filler(10, UInt8(ascii: "X"))) == .failed)
                #expect(connection.sendRaw("X") == .failed)
                #expect(errors.count == 2)
                #expect(errors.allSatisfy { $0.code == .sendFailed })
                #expect(errors.first?.description.contains("send buffer full and drop package") == true)
                #expect(connection.status == .established)
                #expect(fulls == 1, "a refused send does not fire onBufferFull")
                #expect(harness.context.statistics.sendFail == 2)
                peer?.isReading = true
            }
            server.onError = { _, error in errors.append(error) }
            server.onBufferFull = { connection in
                fulls += 1
                #expect(connection.sendBufferQueueSize >= limit)
            }
            server.onBufferDrain = { connection in
                drains += 1
                #expect(connection.bufferIsEmpty)
                // The first drain: send a last word and close. It may queue (the kernel can be full again),
                // in which case the queue drains once more while closing.
                guard drains == 1 else { return }
                #expect(connection.send(ByteBuffer("end")) != .failed)
                expected += Array("end".utf8)
                connection.close()
            }
            server.onClose = { _ in closes += 1 }
        }
        peer = try RawPeer(harness, to: server.listener!.address, reading: false)
        peer?.onEnd = { _ in harness.done() }
        try harness.run()
        #expect(peer?.received.count == expected.count)
        #expect(same(peer?.received, expected), "everything accepted arrived in order; nothing refused did")
        #expect(fulls == 1 && closes == 1)
        #expect(drains >= 1)
        #expect(errors.count == 2, "refusals only: no error for the close")
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func closeFromOnBufferDrainAfterASendStillFlushesIt(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let size = 1 << 20
        var drains = 0
        var closes = 0
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.maxSendBufferSize = 1 << 30
            server.onConnect = { connection in
                shrinkSendBuffer(connection.fd)
                #expect(connection.send(filler(size, UInt8(ascii: "a"))) == .queued)
            }
            server.onBufferDrain = { connection in
                drains += 1
                guard drains == 1 else { return }
                // More than the kernel takes at once: most of it is queued when close() is called.
                #expect(connection.send(filler(size, UInt8(ascii: "b"))) == .queued)
                connection.close()
                #expect(connection.status == .closing)
            }
            server.onClose = { _ in closes += 1 }
        }
        let peer = try RawPeer(harness, to: server.listener!.address)
        peer.onEnd = { _ in harness.done() }
        try harness.run()
        #expect(peer.sawEndOfStream)
        #expect(peer.received.count == 2 * size, "what onBufferDrain sent before close() was not dropped")
        #expect(same(peer.received, [UInt8](repeating: UInt8(ascii: "a"), count: size) + [UInt8](repeating: UInt8(ascii: "b"), count: size)))
        #expect(drains == 2 && closes == 1)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func aClientThatNeverReadsKeepsTheQueueBounded(backend: BackendKind, family: Family) throws {
        // Messages smaller and larger than the limit.
        for messageSize in [10_000, 300_000] {
            try neverReadingClient(backend: backend, family: family, messageSize: messageSize)
        }
    }

    func neverReadingClient(backend: BackendKind, family: Family, messageSize: Int) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let limit = 100_000
        var results: [SendResult: Int] = [:]
        var fulls = 0
        var errors = 0
        var queueAfterEachSend: [Int] = []
        var status: ConnectionStatus?
        let server = try harness.startServer(site, codec: RawCodec.self) { server in
            server.maxSendBufferSize = limit
            server.onConnect = { connection in
                shrinkSendBuffer(connection.fd)
                let message = filler(messageSize, 42)
                for _ in 0..<(20_000_000 / messageSize) {
                    results[connection.send(message), default: 0] += 1
                    queueAfterEachSend.append(connection.sendBufferQueueSize)
                }
                status = connection.status
                connection.destroy()
                harness.done()
            }
            server.onBufferFull = { _ in fulls += 1 }
            server.onError = { _, error in
                #expect(error.code == .sendFailed)
                errors += 1
            }
        }
        let peer = try RawPeer(harness, to: server.listener!.address, reading: false)
        try harness.run()
        peer.close()
        #expect((results[.failed] ?? 0) > 0)
        #expect(errors == results[.failed] ?? 0)
        #expect(harness.context.statistics.sendFail == results[.failed] ?? 0)
        #expect(fulls == 1, "the queue reached the limit once and stayed there")
        #expect(status == .established)
        let largest = queueAfterEachSend.max() ?? 0
        #expect(largest >= limit)
        #expect(largest <= limit + messageSize, "memory is bounded by maxSendBufferSize + one message")
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func pipeBothWaysIsAProxyWithBackPressure(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let limit = 64 * 1024
        let total = 8 << 20
        let payload = pattern(total)

        // An echo server that pauses while its own output is full.
        var echoClosed = false
        let echo = try harness.startServer(site, codec: RawCodec.self, name: "echo") { server in
            server.maxSendBufferSize = limit
            server.onConnect = { connection in shrinkSendBuffer(connection.fd) }
            server.onMessage = { connection, bytes in connection.send(bytes) }
            server.onBufferFull = { connection in connection.pauseReceiving() }
            server.onBufferDrain = { connection in connection.resumeReceiving() }
            server.onClose = { _ in
                echoClosed = true
                harness.done()
            }
        }

        // The proxy: each client connection is piped to a connection to the echo server, and back.
        var upstreams: [TCPClient<RawCodec>] = []
        var clientSide: TCPConnection<RawCodec>?
        var clientSideFull = 0
        var upstreamFull = 0
        var largestClientSideQueue = 0
        var largestUpstreamQueue = 0
        var peer: RawPeer?
        func startReadingOnceSaturated() {
            if clientSideFull > 0 && upstreamFull > 0 { peer?.isReading = true }
        }
        let proxy = try harness.startServer(site, codec: RawCodec.self, name: "proxy") { server in
            server.maxSendBufferSize = limit
            server.onBufferFull = { _ in
                clientSideFull += 1
                startReadingOnceSaturated()
            }
            server.onConnect = { connection in
                shrinkSendBuffer(connection.fd)
                clientSide = connection
                let upstream = try TCPClient<RawCodec>(loop: harness.loop, url: site.clientURL(for: echo.listener!))
                upstream.maxSendBufferSize = limit
                upstreams.append(upstream)
                connection.pipe(to: upstream)
                upstream.pipe(to: connection)
                // Watch the queues the pipes fill, without replacing what pipe(to:) installed.
                let toUpstream = connection.onMessage
                connection.onMessage = { source, bytes in
                    try toUpstream?(source, bytes)
                    largestUpstreamQueue = max(largestUpstreamQueue, upstream.sendBufferQueueSize)
                }
                let toClient = upstream.onMessage
                upstream.onMessage = { source, bytes in
                    try toClient?(source, bytes)
                    largestClientSideQueue = max(largestClientSideQueue, connection.sendBufferQueueSize)
                }
                upstream.onConnect = { upstream in shrinkSendBuffer(upstream.fd) }
                upstream.onBufferFull = { _ in
                    upstreamFull += 1
                    startReadingOnceSaturated()
                }
                upstream.connect()
            }
        }

        peer = try RawPeer(harness, to: proxy.listener!.address, reading: false)
        peer?.write(payload)
        // Everything fitted in the buffers without saturating both directions: read anyway (the test then
        // fails on the expectations below instead of hanging).
        peer?.onDrained = { peer in peer.isReading = true }
        peer?.onData = { peer in
            if peer.received.count >= total { peer.close() }
        }
        try harness.run()

        #expect(peer?.received.count == total)
        #expect(same(peer?.received, payload), "the echo came back whole and in order")
        #expect(clientSideFull > 0, "the proxy's connection to the client filled up")
        #expect(upstreamFull > 0, "the proxy's connection to the echo server filled up")
        let oneRead = 65536
        #expect(largestClientSideQueue <= limit + oneRead)
        #expect(largestUpstreamQueue <= limit + oneRead)
        #expect(echoClosed)
        #expect(clientSide?.status == .closed)
        #expect(upstreams.allSatisfy { $0.status == .closed })
        #expect(proxy.connections.isEmpty && echo.connections.isEmpty)
        harness.finish()
    }
}
