import Testing
import WorkermanTLS
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanMySQL

/// Runs the openssl command line tool in `directory` (throws with its output when it fails).
func openssl(_ arguments: [String], in directory: String) throws {
    guard let tool = findExecutable("openssl") else { throw HarnessError("openssl is not installed") }
    let log = "\(directory)/openssl.log"
    let pid = try spawn(tool, arguments, environment: [:], output: log)
    guard reap(pid, seconds: 60) == 0 else { throw HarnessError("openssl \(arguments.joined(separator: " ")): \(readFile(log) ?? "")") }
}

/// An RSA key pair (PEM) in `directory`: key.pem and public.pem.
private func rsaKeys(in directory: String) throws -> (privateKey: String, publicKey: String) {
    try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "\(directory)/key.pem"], in: directory)
    try openssl(["pkey", "-in", "\(directory)/key.pem", "-pubout", "-out", "\(directory)/public.pem"], in: directory)
    return ("\(directory)/key.pem", "\(directory)/public.pem")
}

/// What `ciphertext` decrypts to with RSA-OAEP under `privateKey` (the openssl tool, as a server would).
private func decrypt(_ ciphertext: [UInt8], privateKey: String, in directory: String) throws -> [UInt8] {
    try TestFiles.write(ciphertext, to: "\(directory)/cipher.bin")
    try openssl(
        ["pkeyutl", "-decrypt", "-inkey", privateKey, "-pkeyopt", "rsa_padding_mode:oaep", "-in", "\(directory)/cipher.bin", "-out", "\(directory)/plain.bin"],
        in: directory
    )
    return TestFiles.readBytes("\(directory)/plain.bin") ?? []
}

private let canEncrypt = TLSLibrary.isAvailable && findExecutable("openssl") != nil

@Suite("MySQL: caching_sha2_password full authentication and TLS negotiation (scripted packets)")
struct MySQLSecureLoginTests {
    /// "secret" and its NUL, XOR the greeting's seed 1...20: what the server's private key must reveal.
    private let mixedPassword: [UInt8] = Array("secret\0".utf8).enumerated().map { $0.element ^ UInt8($0.offset % 20 + 1) }

    @Test("without TLS, with the server's key configured: the password goes RSA-OAEP encrypted, XOR the scramble", .enabled(if: canEncrypt))
    func configuredKey() throws {
        let directory = try makeTemporaryDirectory("wm-mysql-rsa")
        defer { TestFiles.removeTree(directory) }
        let keys = try rsaKeys(in: directory)
        var session = MySQLSession(credentials: .init(user: "app", password: "secret", serverPublicKey: Array((readFile(keys.publicKey) ?? "").utf8)))
        _ = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting()))
        let sent = try session.receive(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04]))
        guard case .send(let packet) = sent.first, sent.count == 1 else {
            Issue.record("no encrypted password: \(sent)")
            return
        }
        #expect(packet.sequenceID == 3 && packet.payload.count == 256)
        #expect(try decrypt(packet.payload, privateKey: keys.privateKey, in: directory) == mixedPassword)
        #expect(try session.receive(MySQLPacket(sequenceID: 4, payload: ServerPackets.ok())) == [.ready(serverVersion: "8.0.36", connectionID: 42)])
    }

    @Test("without TLS, asking the server for its key (0x02): the key's answer gets the encrypted password", .enabled(if: canEncrypt))
    func retrievedKey() throws {
        let directory = try makeTemporaryDirectory("wm-mysql-rsa")
        defer { TestFiles.removeTree(directory) }
        let keys = try rsaKeys(in: directory)
        var session = MySQLSession(credentials: .init(user: "app", password: "secret", allowPublicKeyRetrieval: true))
        _ = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting()))
        #expect(try session.receive(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04])) == [.send(MySQLPacket(sequenceID: 3, payload: [0x02]))])
        let sent = try session.receive(MySQLPacket(sequenceID: 4, payload: [0x01] + Array((readFile(keys.publicKey) ?? "").utf8)))
        guard case .send(let packet) = sent.first else {
            Issue.record("no encrypted password: \(sent)")
            return
        }
        #expect(packet.sequenceID == 5)
        #expect(try decrypt(packet.payload, privateKey: keys.privateKey, in: directory) == mixedPassword)
        #expect(try session.receive(MySQLPacket(sequenceID: 6, payload: ServerPackets.ok())).count == 1)
        #expect(session.isReady)
    }

    @Test("a key that is not a key fails the login with the reason")
    func badKey() throws {
        var session = MySQLSession(credentials: .init(user: "app", password: "secret", allowPublicKeyRetrieval: true))
        _ = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting()))
        _ = try session.receive(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04]))
        #expect {
            try session.receive(MySQLPacket(sequenceID: 4, payload: [0x01] + Array("-----BEGIN PUBLIC KEY-----\nnonsense\n".utf8)))
        } throws: { error in
            (error as? MySQLError)?.code == .authentication && (error as? MySQLError)?.message.contains("RSA") == true
        }
    }

    @Test("tls: .require sends the SSLRequest, then the login over TLS, and full authentication the clear password")
    func tlsNegotiation() throws {
        var session = MySQLSession(credentials: .init(user: "app", password: "secret", database: "shop", tls: .require))
        let hello = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting(offersTLS: true)))
        guard hello.count == 2, case .send(let request) = hello[0], hello[1] == .startTLS else {
            Issue.record("no SSLRequest: \(hello)")
            return
        }
        #expect(request.sequenceID == 1 && request.payload.count == 32)
        let capabilities = UInt32(request.payload[0]) | UInt32(request.payload[1]) << 8 | UInt32(request.payload[2]) << 16 | UInt32(request.payload[3]) << 24
        #expect(MySQLCapabilities(rawValue: capabilities).contains(.ssl))
        guard case .send(let login) = session.secured().first else {
            Issue.record("no login after TLS")
            return
        }
        #expect(login.sequenceID == 2 && Array(login.payload.prefix(32)) == request.payload && login.payload.count > 32)
        #expect(session.isSecure)
        #expect(try session.receive(MySQLPacket(sequenceID: 3, payload: [0x01, 0x04])) == [.send(MySQLPacket(sequenceID: 4, payload: Array("secret\0".utf8)))])
        #expect(try session.receive(MySQLPacket(sequenceID: 5, payload: ServerPackets.ok())).count == 1)
        #expect(session.isReady)
    }

    @Test("tls: .require against a server without TLS fails; .prefer goes on in clear; a clear packet after the SSLRequest is refused")
    func tlsModes() throws {
        var required = MySQLSession(credentials: .init(user: "app", password: "secret", tls: .require))
        #expect {
            try required.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting()))
        } throws: { error in
            (error as? MySQLError)?.code == .authentication && (error as? MySQLError)?.message.contains("does not offer") == true
        }
        var preferred = MySQLSession(credentials: .init(user: "app", password: "secret", tls: .prefer))
        let hello = try preferred.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting()))
        #expect(hello.count == 1 && !preferred.isSecure)
        var securing = MySQLSession(credentials: .init(user: "app", password: "secret", tls: .prefer))
        _ = try securing.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting(offersTLS: true)))
        #expect(throws: MySQLError.self) { try securing.receive(MySQLPacket(sequenceID: 2, payload: ServerPackets.ok())) }
    }

    @Test("a connection logs in through full authentication with the key file, against a fake server on loopback", .enabled(if: canEncrypt))
    func keyFileOverLoopback() throws {
        let directory = try makeTemporaryDirectory("wm-mysql-rsa")
        defer { TestFiles.removeTree(directory) }
        let keys = try rsaKeys(in: directory)
        let testLoop = try TestLoop()
        let server = try testLoop.harness.startServer(MySQLPacketCodec.self)
        var received: [MySQLPacket] = []
        server.onConnect = { connection in connection.send(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting())) }
        server.onMessage = { connection, packet in
            received.append(packet)
            switch packet.sequenceID {
            case 1: connection.send(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04]))
            case 3: connection.send(MySQLPacket(sequenceID: 4, payload: ServerPackets.ok()))
            default: connection.send(MySQLPacket(sequenceID: 1, payload: ServerPackets.ok(affected: 3)))
            }
        }
        var configuration = MySQLConfiguration(host: "127.0.0.1", port: Int(server.listener!.address.port), user: "app", password: "secret")
        configuration.serverPublicKeyFile = keys.publicKey
        let connection = try connected(testLoop, configuration)
        defer { connection.close() }
        #expect(try run(testLoop, connection, "DELETE FROM t").affectedRows == 3)
        #expect(received.count == 3)
        if received.count == 3 {
            #expect(try decrypt(received[1].payload, privateKey: keys.privateKey, in: directory) == mixedPassword)
        }
        var missing = configuration
        missing.serverPublicKeyFile = "\(directory)/none.pem"
        let keyless = MySQLConnection(loop: testLoop.loop, configuration: missing)
        let refused = try wait(testLoop, "a missing key file") { keyless.connect($0) }
        if case .failure(let error) = refused { #expect(error.code == .invalidArgument && error.message.contains("none.pem")) } else { Issue.record("connected without its key file") }
    }
}
