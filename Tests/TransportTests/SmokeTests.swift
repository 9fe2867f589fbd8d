import Testing
import WorkermanEventLoop
import WorkermanTransport

@Suite struct SmokeTests {
    @Test(arguments: BackendKind.available, ["tcp://127.0.0.1:0", "tcp://[::1]:0"])
    func echoRoundTrip(backend: BackendKind, address: String) throws {
        let loop = try EventLoop(backend: backend)
        let server = try TCPServer<RawCodec>(loop: loop, address: address)
        server.onMessage = { connection, bytes in connection.send(bytes) }
        try server.start()
        let port = server.listener!.address.port
        let host = address.contains("[") ? "[::1]" : "127.0.0.1"
        let client = try TCPClient<RawCodec>(loop: loop, url: "tcp://\(host):\(port)")
        var received = ByteBuffer()
        var connected = false
        client.onConnect = { client in
            connected = true
            client.send(ByteBuffer("hello"))
        }
        client.onMessage = { client, bytes in
            received.append(bytes)
            if received.readableBytes >= 5 { client.close() }
        }
        client.onClose = { _ in
            server.closeAll()
            loop.stop()
        }
        let guardTimer = try loop.addTimer(after: 5) { loop.stop() }
        client.connect()
        try loop.run()
        loop.cancelTimer(guardTimer)
        #expect(connected)
        #expect(received.string == "hello")
        #expect(TransportContext.of(loop).statistics.connections == 0)
        loop.close()
    }

    @Test func connectRefusedReportsError() throws {
        let loop = try EventLoop()
        let probe = try TCPServer<RawCodec>(loop: loop, address: "tcp://127.0.0.1:0")
        try probe.start()
        let port = probe.listener!.address.port
        probe.stop()
        let client = try TCPClient<RawCodec>(loop: loop, url: "tcp://127.0.0.1:\(port)")
        var errors: [TransportError] = []
        var closes = 0
        client.onError = { _, error in errors.append(error) }
        client.onClose = { _ in closes += 1 }
        client.connect()
        try loop.run()
        #expect(errors.count == 1)
        #expect(errors.first?.code == .connectFailed)
        #expect(errors.first?.description.contains("127.0.0.1:\(port)") == true)
        #expect(closes == 1)
        loop.close()
    }
}
