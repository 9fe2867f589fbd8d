// Bad input: a used port, unix paths too long or in a missing directory, addresses that do not parse or are
// not numeric, codecs that reject. Each gets a thrown error or an onError with a code and a message naming
// the address, and nothing else is disturbed.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Bad input")
struct BadInputTests {
    @Test(arguments: BackendKind.available, Family.allCases)
    func bindingAnAddressInUse(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var closes = 0
        // Binding a unix path checks whether a live server owns it by connecting once: that probe is a
        // connection the first server accepts and sees closed.
        let expectedCloses = family == .unix ? 2 : 1
        let first = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in connection.send(line) }
            server.onClose = { _ in
                closes += 1
                if closes == expectedCloses { harness.done() }
            }
        }
        let address = try #require(first.listener).address
        let taken = family == .unix ? "unix://\(address.ip)" : site.clientURL(for: first.listener!)
        let second = try TCPServer<LineCodec>(loop: harness.loop, address: taken)
        #expect {
            try second.start()
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .listenFailed
                && error.cause == .addressInUse
                && error.description.contains(address.description)
                && error.description.contains("address already in use")
        }
        #expect(second.listener == nil)
        // The first server still answers (and a unix server still has its socket file).
        let peer = try RawPeer(harness, to: address)
        peer.write("still serving\n")
        peer.onData = { peer in
            if peer.receivedText == "still serving\n" { peer.close() }
        }
        try harness.run()
        #expect(peer.receivedText == "still serving\n")
        #expect(closes == expectedCloses)
        harness.finish()
    }

    @Test func aStaleUnixSocketFileIsReplaced() throws {
        let harness = try LoopHarness(.automatic)
        let site = try TestSite(.unix)
        defer { site.remove() }
        let path = "\(site.directory!)/stale.sock"
        // A socket file whose process is gone: bound, then closed without unlinking.
        let address = try SocketAddress(unixPath: path)
        let stale = try SocketCalls.socket(domain: AF_UNIX, type: CInt(SOCK_STREAM.rawValue))
        try SocketCalls.bind(stale, address)
        _ = Glibc.close(stale)
        #expect(access(path, F_OK) == 0)
        let server = try TCPServer<RawCodec>(loop: harness.loop, address: "unix://\(path)")
        try server.start()
        #expect(server.listener?.address == address)
        server.stop()
        #expect(access(path, F_OK) != 0, "the listener removes its socket file when it closes")
        harness.finish()
    }

    @Test func aUnixPathTooLong() throws {
        let harness = try LoopHarness(.automatic)
        let url = "unix:///" + String(repeating: "d", count: 200) + "/app.sock"
        let server = try TCPServer<RawCodec>(loop: harness.loop, address: url)
        #expect {
            try server.start()
        } throws: { error in
            (error as? TransportError)?.code == .invalidAddress
                && (error as? TransportError)?.description.contains("1 to 107 bytes") == true
        }
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: url)
        var events: [String] = []
        client.onError = { _, error in
            events.append("error")
            #expect(error.code == .invalidAddress)
        }
        client.onClose = { _ in events.append("close") }
        client.connect()
        #expect(events == ["error", "close"])
        #expect(client.status == .closed)
        harness.finish()
    }

    @Test func aUnixPathInAMissingDirectory() throws {
        let harness = try LoopHarness(.automatic)
        let site = try TestSite(.unix)
        defer { site.remove() }
        let path = "\(site.directory!)/missing/app.sock"
        let server = try TCPServer<RawCodec>(loop: harness.loop, address: "unix://\(path)")
        #expect {
            try server.start()
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .listenFailed
                && error.cause == .noSuchFileOrDirectory
                && error.description.contains(path)
                && error.description.contains("does not exist")
        }
        harness.finish()
    }

    @Test(arguments: ["tcp//127.0.0.1:80", "tcp://127.0.0.1:99999", "tcp://", "text://[::1:80"])
    func listenAddressesThatDoNotParse(address: String) throws {
        let harness = try LoopHarness(.automatic)
        func isInvalidAddress(_ error: any Error) -> Bool {
            (error as? TransportError)?.code == .invalidAddress
                && (error as? TransportError)?.description.contains(address) == true
        }
        #expect(performing: { try TCPServer<RawCodec>(loop: harness.loop, address: address) }, throws: isInvalidAddress)
        #expect(performing: { try UDPServer<RawCodec>(loop: harness.loop, address: address) }, throws: isInvalidAddress)
        #expect(performing: { try TCPClient<RawCodec>(loop: harness.loop, url: address) }, throws: isInvalidAddress)
        harness.finish()
    }

    @Test func aListenAddressMustBeNumeric() throws {
        let harness = try LoopHarness(.automatic)
        let server = try TCPServer<RawCodec>(loop: harness.loop, address: "tcp://example.com:8080")
        #expect {
            try server.start()
        } throws: { error in
            (error as? TransportError)?.code == .invalidAddress
                && (error as? TransportError)?.description.contains("tcp://example.com:8080") == true
        }
        #expect(throws: TransportError.self) {
            try TCPClient<RawCodec>(loop: harness.loop, url: "udp://127.0.0.1:9")
        }
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func aRejectingCodecClosesOnlyThatConnection(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var errors: [TransportError] = []
        var closes = 0
        var good: RawPeer?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in connection.send(line) }
            server.onError = { _, error in errors.append(error) }
            server.onClose = { _ in
                closes += 1
                if closes == 1 { good?.write("fine\n") }
                if closes == 2 { harness.done() }
            }
        }
        good = try RawPeer(harness, to: server.listener!.address)
        good?.onData = { peer in
            if peer.receivedText == "fine\n" { peer.close() }
        }
        let bad = try RawPeer(harness, to: server.listener!.address)
        bad.write([UInt8]("bad".utf8) + [0] + [UInt8]("line\n".utf8))
        try harness.run()
        #expect(errors.map(\.code) == [.protocolError])
        #expect(errors.first?.description.contains("NUL in line") == true)
        #expect(harness.context.statistics.packetErr == 1)
        #expect(good?.receivedText == "fine\n")
        #expect(bad.sawEndOfStream || bad.readError != nil)
        harness.finish()
    }

    @Test(arguments: BackendKind.available)
    func aLengthOverMaxPackageSizeIsRejected(backend: BackendKind) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(.ipv4)
        var errors: [TransportError] = []
        var bodies: [String] = []
        let server = try harness.startServer(site, codec: LengthCodec.self) { server in
            server.maxPackageSize = 100
            server.onMessage = { _, body in bodies.append(body.string) }
            server.onError = { _, error in errors.append(error) }
            server.onClose = { _ in harness.done() }
        }
        let peer = try RawPeer(harness, to: server.listener!.address)
        // A message of exactly the limit (2 + 98 bytes) passes; the next announces 2 + 99.
        peer.write([0, 98] + [UInt8](repeating: 65, count: 98) + [0, 99])
        try harness.run()
        #expect(bodies == [String(repeating: "A", count: 98)])
        #expect(errors.map(\.code) == [.protocolError])
        #expect(errors.first?.description.contains("exceeds maxPackageSize 100") == true)
        #expect(harness.context.statistics.packetErr == 1)
        harness.finish()
    }
}
