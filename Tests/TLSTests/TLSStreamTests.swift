import WorkermanEventLoop
import WorkermanTLS
import WorkermanTestSupport
import WorkermanTransport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The TLS stream over scripted streams: a client and a server stream whose records the test carries
/// from one to the other, so every "would block", partial record, close and failure is chosen by the test.
final class TLSStreamTests: XCTestCase {
    private var certificates: TestCertificates!

    override func setUpWithError() throws {
        certificates = try TestCertificates.require()
    }

    /// A client and a server over scripted streams.
    private struct Pair {
        let client: TLSStream
        let server: TLSStream
        let clientWire = ScriptedStream()
        let serverWire = ScriptedStream()

        init(server: TLSServerConfiguration, client: TLSClientConfiguration, host: String = "localhost") throws {
            self.client = try client.stream(over: clientWire, host: host)
            self.server = try server.stream(over: serverWire)
        }

        /// Carries what each side wrote to the other; whether anything moved.
        @discardableResult
        func carry() -> Bool {
            let toServer = clientWire.takeWritten()
            let toClient = serverWire.takeWritten()
            if !toServer.isEmpty { serverWire.queueRead(toServer) }
            if !toClient.isEmpty { clientWire.queueRead(toClient) }
            return !toServer.isEmpty || !toClient.isEmpty
        }

        /// Runs both handshakes to the end (reads drive them).
        func handshake() throws {
            for _ in 0..<20 where client.isHandshaking || server.isHandshaking {
                _ = try read(client)
                _ = try read(server)
                carry()
            }
        }
    }

    private func serverConfiguration(alpn: [String] = ["http/1.1"]) throws -> TLSServerConfiguration {
        try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey, alpn: alpn)
    }

    private func clientConfiguration(alpn: [String] = []) throws -> TLSClientConfiguration {
        try TLSClientConfiguration(caFile: certificates.caCertificate, useSystemTrustStore: false, alpn: alpn)
    }

    private static func read(_ stream: TLSStream, count: Int = 65536) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        let result = try buffer.withUnsafeMutableBytes { try stream.read(into: $0.baseAddress!, count: count) }
        guard case .processed(let n) = result else { return nil }
        return Array(buffer.prefix(n))
    }

    private func read(_ stream: TLSStream, count: Int = 65536) throws -> [UInt8]? { try Self.read(stream, count: count) }

    private func write(_ stream: TLSStream, _ text: String) throws -> IOResult<Int> {
        try Array(text.utf8).withUnsafeBytes { try stream.write($0) }
    }

    // MARK: - Handshake and data

    func testHandshakeThenDataBothWays() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration(alpn: ["http/1.1"]))
        XCTAssertTrue(pair.client.isHandshaking)
        try pair.handshake()
        XCTAssertFalse(pair.client.isHandshaking)
        XCTAssertFalse(pair.server.isHandshaking)
        XCTAssertEqual(pair.server.protocolVersion, "TLSv1.3")
        XCTAssertEqual(pair.server.securityDescription?.hasPrefix("TLSv1.3 TLS_"), true)
        XCTAssertEqual(pair.server.negotiatedProtocol, "http/1.1")
        XCTAssertEqual(pair.client.negotiatedProtocol, "http/1.1")

        XCTAssertEqual(try write(pair.client, "ping"), .processed(4))
        pair.carry()
        XCTAssertEqual(try read(pair.server).map { String(decoding: $0, as: UTF8.self) }, "ping")
        XCTAssertEqual(try write(pair.server, "pong"), .processed(4))
        pair.carry()
        XCTAssertEqual(try read(pair.client).map { String(decoding: $0, as: UTF8.self) }, "pong")
    }

    func testTLS12CanBeNegotiated() throws {
        let client = try TLSClientConfiguration(caFile: certificates.caCertificate, useSystemTrustStore: false)
        let server = try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey)
        let pair = try Pair(server: server, client: client)
        // A TLS 1.3-only server against a TLS 1.2-capable client still picks 1.3; a 1.3 minimum on the
        // client side proves the setting reaches OpenSSL.
        let strict = try TLSClientConfiguration(caFile: certificates.caCertificate, useSystemTrustStore: false, minimumVersion: .tls13)
        _ = strict
        try pair.handshake()
        XCTAssertNotNil(pair.server.cipherSuite)
    }

    func testLargeWriteCrossesManyRecordsAndReadsWhole() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertEqual(try payload.withUnsafeBytes { try pair.client.write($0) }, .processed(payload.count))
        pair.carry()
        var received: [UInt8] = []
        while let chunk = try read(pair.server), !chunk.isEmpty { received += chunk }
        XCTAssertEqual(received, payload)
    }

    func testRecordsReadAheadPastTheRoomAreAnnounced() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        XCTAssertEqual(try payload.withUnsafeBytes { try pair.client.write($0) }, .processed(payload.count))
        pair.carry()
        // Four whole records fill the room; whatever OpenSSL read ahead of the fifth waits for the next
        // read (announced by `hasBufferedInput` when some is held: a poll would not see it).
        let first = try read(pair.server)
        XCTAssertEqual(first?.count, 65536)
        var received = first ?? []
        while let chunk = try read(pair.server), !chunk.isEmpty { received += chunk }
        XCTAssertEqual(received, payload)
        XCTAssertFalse(pair.server.hasBufferedInput)
    }

    // MARK: - Want read / want write, both directions

    func testClientHelloWaitsForRoomThenReadRetries() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        // Before anything: a client must write its hello, so reading waits for writability.
        XCTAssertEqual(pair.client.interest(forWanted: .readable), .writable)
        XCTAssertTrue(pair.client.attempts(forReady: .writable).contains(.readable))
        pair.clientWire.queueWrites([.wouldBlock])
        XCTAssertNil(try read(pair.client))  // the hello did not fit: want write
        XCTAssertEqual(pair.client.interest(forWanted: .readable), .writable)
        XCTAssertNil(try read(pair.client))  // room now: the hello goes, and the client waits for the answer
        XCTAssertEqual(pair.client.interest(forWanted: .readable), .readable)
        XCTAssertFalse(pair.clientWire.written.isEmpty)
        try pair.handshake()
        XCTAssertFalse(pair.client.isHandshaking)
    }

    func testWriteBeforeHandshakeWaitsForReadability() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        XCTAssertEqual(try write(pair.server, "early"), .wouldBlock)  // a server cannot send before the hello
        XCTAssertEqual(pair.server.interest(forWanted: .writable), .readable)
        XCTAssertEqual(pair.server.attempts(forReady: .readable), [.readable, .writable])
        try pair.handshake()
        XCTAssertEqual(try write(pair.server, "early"), .processed(5))
        pair.carry()
        XCTAssertEqual(try read(pair.client).map { String(decoding: $0, as: UTF8.self) }, "early")
    }

    func testFullSocketMidWriteRetriesTheSameBytes() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        let payload = [UInt8](repeating: 0x61, count: 40_000)
        // The first record goes, the second finds the socket full: the write reports the first record
        // only, and a retry from there completes it.
        pair.serverWire.queueWrites([.accept(100_000), .wouldBlock])
        guard case .processed(let first) = try payload.withUnsafeBytes({ try pair.server.write($0) }) else {
            return XCTFail("the first record should have been written")
        }
        XCTAssertEqual(first, 16384)
        XCTAssertEqual(pair.server.interest(forWanted: .writable), .writable)
        let rest = try payload[first...].withUnsafeBytes { try pair.server.write($0) }
        XCTAssertEqual(rest, .processed(payload.count - first))
        pair.carry()
        var received: [UInt8] = []
        while let chunk = try read(pair.client), !chunk.isEmpty { received += chunk }
        XCTAssertEqual(received, payload)
    }

    func testPartialRecordsOneByteAtATime() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        XCTAssertEqual(try write(pair.client, "hello over tls"), .processed(14))
        let record = pair.clientWire.takeWritten()
        var got: [UInt8]?
        for byte in record {
            XCTAssertNil(got, "the record was complete before its last byte")
            pair.serverWire.queueRead([byte])
            got = try read(pair.server)
        }
        XCTAssertEqual(got.map { String(decoding: $0, as: UTF8.self) }, "hello over tls")
    }

    func testGatheredWriteSendsPiecesAsOneRecord() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n".utf8)
        let body = Array("hi".utf8)
        let result = try head.withUnsafeBytes { h in
            try body.withUnsafeBytes { b in
                var vectors = [
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: h.baseAddress), iov_len: h.count),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress), iov_len: b.count),
                ]
                return try pair.server.writev(&vectors, count: 2)
            }
        }
        XCTAssertEqual(result, .processed(head.count + body.count))
        XCTAssertEqual(pair.serverWire.calls.filter { $0.hasPrefix("write") }.count > 0, true)
        pair.carry()
        XCTAssertEqual(try read(pair.client), head + body)
    }

    // MARK: - Ends

    func testCloseNotifyIsTheEndOfTheStream() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        pair.client.shutdownOutput()
        XCTAssertTrue(pair.clientWire.isOutputShut)
        pair.carry()
        XCTAssertEqual(try read(pair.server), [])
        XCTAssertFalse(pair.server.endedWithoutCloseNotify)
    }

    func testTruncationAfterHandshakeIsAnEndMarkedAsSuch() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        pair.serverWire.queueEndOfStream()
        XCTAssertEqual(try read(pair.server), [])
        XCTAssertTrue(pair.server.endedWithoutCloseNotify)
    }

    func testTruncatedHandshakeFailsWithAReason() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        _ = try read(pair.client)
        let hello = pair.clientWire.takeWritten()
        pair.serverWire.queueRead(Array(hello.prefix(20)))
        pair.serverWire.queueEndOfStream()
        XCTAssertThrowsError(try read(pair.server))
        XCTAssertEqual(pair.server.failureReason?.contains("closed"), true, pair.server.failureReason ?? "")
        XCTAssertTrue(pair.server.isHandshaking)
    }

    func testResetMidRecordRethrowsTheReset() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        XCTAssertEqual(try write(pair.client, "hello"), .processed(5))
        pair.serverWire.queueRead(Array(pair.clientWire.takeWritten().prefix(7)))
        pair.serverWire.queueReadFailure(.connectionReset)
        XCTAssertThrowsError(try read(pair.server)) { XCTAssertEqual($0 as? Errno, .connectionReset) }
    }

    func testClosingAfterHandshakeSendsCloseNotify() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        try pair.handshake()
        pair.server.close()
        XCTAssertTrue(pair.serverWire.isClosed)
        pair.carry()
        XCTAssertEqual(try read(pair.client), [])
        XCTAssertFalse(pair.client.endedWithoutCloseNotify)
    }

    // MARK: - Bad input

    func testGarbageInsteadOfAHelloFails() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        pair.serverWire.queueRead([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        XCTAssertThrowsError(try read(pair.server)) { XCTAssertEqual(($0 as? Errno)?.rawValue, EPROTO) }
        XCTAssertNotNil(pair.server.failureReason)
        pair.server.close()
        XCTAssertTrue(pair.serverWire.isClosed)
    }

    func testPlainHTTPGetsAClearTextAnswer() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration())
        pair.serverWire.queueRead("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertThrowsError(try read(pair.server))
        let answer = String(decoding: pair.serverWire.takeWritten(), as: UTF8.self)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), answer)
        XCTAssertTrue(answer.contains("plain HTTP request was sent to an HTTPS port"))
        XCTAssertEqual(pair.server.failureReason, "plain HTTP sent to a TLS port")
        XCTAssertTrue(pair.serverWire.isOutputShut)
    }

    // MARK: - Verification

    func testUnknownCAFailsVerificationNamingTheHost() throws {
        let client = try TLSClientConfiguration(useSystemTrustStore: true)
        let pair = try Pair(server: serverConfiguration(), client: client)
        XCTAssertThrowsError(try pair.handshake())
        let reason = pair.client.failureReason ?? ""
        XCTAssertTrue(reason.contains("localhost"), reason)
        XCTAssertTrue(reason.contains("certificate verify failed"), reason)
    }

    func testWrongHostFailsVerification() throws {
        let pair = try Pair(server: serverConfiguration(), client: clientConfiguration(), host: "example.org")
        XCTAssertThrowsError(try pair.handshake())
        let reason = pair.client.failureReason ?? ""
        XCTAssertTrue(reason.contains("example.org"), reason)
        XCTAssertTrue(reason.contains("hostname mismatch"), reason)
    }

    func testOptOutAcceptsASelfSignedPeer() throws {
        let server = try TLSServerConfiguration(certificateChain: certificates.selfSignedCertificate, privateKey: certificates.selfSignedKey)
        let pair = try Pair(server: server, client: TLSClientConfiguration(verifyPeer: false))
        try pair.handshake()
        XCTAssertFalse(pair.client.isHandshaking)
    }

    func testRequiredClientCertificate() throws {
        let server = try TLSServerConfiguration(
            certificateChain: certificates.serverCertificate,
            privateKey: certificates.serverKey,
            clientCertificates: .require,
            clientCAFile: certificates.caCertificate
        )
        let identified = try TLSClientConfiguration(
            caFile: certificates.caCertificate,
            useSystemTrustStore: false,
            certificateChain: certificates.clientCertificate,
            privateKey: certificates.clientKey
        )
        let pair = try Pair(server: server, client: identified)
        try pair.handshake()
        XCTAssertEqual(pair.server.peerSubject, "/CN=test-client")

        let anonymous = try Pair(server: server, client: clientConfiguration())
        // TLS 1.3: the client finishes first, and the server refuses once it sees no certificate.
        XCTAssertThrowsError(try anonymous.handshake())
        XCTAssertTrue(anonymous.server.failureReason?.contains("certificate") ?? false, anonymous.server.failureReason ?? "")
    }

    // MARK: - Configuration errors

    func testMissingCertificateFileNamesIt() throws {
        XCTAssertThrowsError(try TLSServerConfiguration(certificateChain: "/nonexistent/cert.pem", privateKey: certificates.serverKey)) {
            XCTAssertTrue("\($0)".contains("/nonexistent/cert.pem"), "\($0)")
        }
    }

    func testKeyThatDoesNotMatchTheCertificate() throws {
        XCTAssertThrowsError(try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.otherKey)) {
            XCTAssertTrue("\($0)".contains("does not match"), "\($0)")
        }
    }

    func testEncryptedKeyNeedsItsPassphrase() throws {
        XCTAssertNoThrow(
            try TLSServerConfiguration(
                certificateChain: certificates.serverCertificate,
                privateKey: certificates.encryptedServerKey,
                passphrase: TestCertificates.passphrase
            )
        )
        XCTAssertThrowsError(
            try TLSServerConfiguration(certificateChain: certificates.serverCertificate, privateKey: certificates.encryptedServerKey, passphrase: "wrong")
        ) { XCTAssertTrue("\($0)".contains("server-encrypted.key"), "\($0)") }
    }

    func testWorkermanContextForm() throws {
        XCTAssertNoThrow(try TLSServerConfiguration(context: ["local_cert": certificates.serverCertificate, "local_pk": certificates.serverKey]))
        XCTAssertThrowsError(try TLSServerConfiguration(context: [:])) { XCTAssertTrue("\($0)".contains("local_cert"), "\($0)") }
    }
}
