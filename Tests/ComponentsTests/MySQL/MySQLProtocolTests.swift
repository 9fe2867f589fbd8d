import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanMySQL

@Suite("MySQL protocol, from recorded and scripted packets (no server)")
struct MySQLProtocolTests {
    @Test("framing: any read split gives the same packets; 16 MiB payloads split and join")
    func framing() throws {
        let big = [UInt8](repeating: 7, count: MySQLPacketCodec.maxPartLength + 10)
        let exact = [UInt8](repeating: 9, count: MySQLPacketCodec.maxPartLength)
        let packets = [
            MySQLPacket(sequenceID: 0, payload: [1, 2, 3]), MySQLPacket(sequenceID: 1, payload: []),
            MySQLPacket(sequenceID: 250, payload: big), MySQLPacket(sequenceID: 3, payload: exact),
        ]
        let wire = ServerPackets.wire(packets)
        // Big payloads: a full part, then the rest (an empty last part for an exact multiple).
        #expect(wire.count == 4 + 3 + 4 + (4 + big.count + 4) + (4 + exact.count + 4))
        let verifier = CodecVerifier<MySQLPacketCodec>(maxPackageSize: 64 * 1024 * 1024)
        let run = try verifier.verify(wire, splits: [.whole, .chunks(of: 1 << 20), .random(seed: 3, maxChunk: 1 << 22)]) { $0 }
        #expect(run.messages.map(\.payload.count) == packets.map(\.payload.count))
        #expect(run.messages[2].sequenceID == 251 && run.messages[2].firstSequenceID == 250)
        #expect(run.messages[3].sequenceID == 4 && run.messages[3].partCount == 2)
        let small = try verifier.verify(ServerPackets.wire(Array(packets.prefix(2)))) { $0 }
        #expect(small.messages == Array(packets.prefix(2)) && !small.closed)
    }

    @Test("a packet announced beyond maxPackageSize is refused before it is buffered")
    func oversized() {
        let verifier = CodecVerifier<MySQLPacketCodec>(maxPackageSize: 1000)
        let run = verifier.run([0xFF, 0xFF, 0xFF, 0] + [UInt8](repeating: 0, count: 100), split: .whole)
        #expect(run.rejection?.reason.contains("more than 1000") == true)
    }

    @Test("MariaDB's recorded greeting parses")
    func greeting() throws {
        let greeting = try MySQLGreeting.parse(ServerPackets.mariaDBGreeting)
        #expect(greeting.serverVersion == "5.5.5-10.11.19-MariaDB-0+deb12u1")
        #expect(greeting.connectionID == 5)
        #expect(greeting.scramble.count == 20)
        #expect(greeting.authPlugin == "mysql_native_password")
        #expect(greeting.capabilities.isSuperset(of: [.protocol41, .secureConnection, .pluginAuth]))
        #expect(throws: MySQLError.self) { try MySQLGreeting.parse(Array(ServerPackets.mariaDBGreeting.prefix(20))) }
        #expect(throws: MySQLError.self) { try MySQLGreeting.parse([9] + ServerPackets.mariaDBGreeting.dropFirst()) }
    }

    @Test("password scrambles match reference values (SHA-1 and SHA-256 methods)")
    func scrambles() {
        let seed = Array(UInt8(1)...20)
        #expect(hex(MySQLAuthentication.nativePassword("secret", seed: seed)) == "b32bb3a583e1340c0a1108d58b1be49781ad8c2f")
        #expect(hex(MySQLAuthentication.cachingSHA2("secret", seed: seed)) == "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9")
        #expect(hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.hash([UInt8](repeating: 97, count: 1000))) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(MySQLAuthentication.nativePassword("", seed: seed).isEmpty)
    }

    @Test("caching_sha2_password: fast path logs in; full authentication says what is missing, or sends the password over a secure transport")
    func cachingSHA2() throws {
        for (secure, fast) in [(false, true), (false, false), (true, false)] {
            var session = MySQLSession(credentials: .init(user: "app", password: "secret", database: "shop", isSecureTransport: secure))
            let hello = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.greeting()))
            guard case .send(let response) = hello.first else {
                Issue.record("no handshake response")
                continue
            }
            #expect(response.sequenceID == 1)
            let scramble = MySQLAuthentication.cachingSHA2("secret", seed: Array(1...20))
            #expect(contains(response.payload, [UInt8(scramble.count)] + scramble))
            #expect(contains(response.payload, Array("shop\0caching_sha2_password\0".utf8)))
            if fast {
                #expect(try session.receive(MySQLPacket(sequenceID: 2, payload: [0x01, 0x03])).isEmpty)
                let done = try session.receive(MySQLPacket(sequenceID: 3, payload: ServerPackets.ok()))
                #expect(done == [.ready(serverVersion: "8.0.36", connectionID: 42)])
            } else if !secure {
                do {
                    _ = try session.receive(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04]))
                    Issue.record("full authentication went ahead without TLS")
                } catch {
                    #expect(error.code == .authentication && error.message.contains("TLS") && error.message.contains("RSA"))
                }
            } else {
                let sent = try session.receive(MySQLPacket(sequenceID: 2, payload: [0x01, 0x04]))
                #expect(sent == [.send(MySQLPacket(sequenceID: 3, payload: Array("secret\0".utf8)))])
                #expect(try session.receive(MySQLPacket(sequenceID: 4, payload: ServerPackets.ok())).count == 1)
                #expect(session.isReady)
            }
        }
    }

    @Test("an auth switch to an unknown plugin, and a refused login, fail clearly")
    func authFailures() throws {
        var session = MySQLSession(credentials: .init(user: "app", password: "secret"))
        _ = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.mariaDBGreeting))
        #expect(throws: MySQLError(.authentication, "unknown authentication method client_ed25519")) {
            try session.receive(MySQLPacket(sequenceID: 2, payload: [0xFE] + Array("client_ed25519\0seedseedseed".utf8)))
        }
        var refused = MySQLSession(credentials: .init(user: "app", password: "bad"))
        _ = try refused.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.mariaDBGreeting))
        do {
            _ = try refused.receive(MySQLPacket(sequenceID: 2, payload: ServerPackets.error(1045, "28000", "Access denied")))
        } catch {
            #expect(error.serverCode == 1045 && error.sqlState == "28000" && error.message == "Access denied")
        }
    }

    @Test("a text result set, an OK, an ERR and a multi-statement answer read from scripted packets")
    func textResults() throws {
        var session = try loggedIn()
        _ = session.start(.query("SELECT"))
        let packets = ServerPackets.resultSet(
            columns: [ServerPackets.column("id", .long, flags: 0x20), ServerPackets.column("name", .varString), ServerPackets.column("at", .datetime)],
            rows: [ServerPackets.textRow(["1", "ä", "2024-01-02 03:04:05.5"]), ServerPackets.textRow(["2", nil, nil])],
            status: 0x000A
        ) + [MySQLPacket(sequenceID: 9, payload: ServerPackets.ok(affected: 3, insertID: 7))]
        var outputs: [MySQLSession.Output] = []
        for packet in packets { outputs += try session.receive(packet) }
        guard case .completed(.result(let result)) = outputs.last, outputs.count == 1 else {
            Issue.record("\(outputs)")
            return
        }
        #expect(result.sets.count == 2)
        #expect(result.rows[0].values == [.unsigned(1), .string("ä"), .dateTime(MySQLDateTime(year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5, microsecond: 500_000))])
        #expect(result.rows[1].values == [.unsigned(2), .null, .null])
        #expect(result.sets[1].affectedRows == 3 && result.sets[1].lastInsertID == 7)
        #expect(session.isReady)
        _ = session.start(.query("BAD"))
        #expect(try session.receive(MySQLPacket(sequenceID: 1, payload: ServerPackets.error(1064, "42000", "syntax"))) == [.failed(MySQLError(.server, "syntax", serverCode: 1064, sqlState: "42000"))])
        #expect(session.isReady)
    }

    @Test("bad input: a row that does not match its columns, a length beyond the packet, a wrong sequence, an unexpected packet")
    func badInput() throws {
        let column = [ServerPackets.column("a", .long)]
        let cases: [(String, [MySQLPacket])] = [
            ("more values", ServerPackets.resultSet(columns: column, rows: [ServerPackets.textRow(["1", "2"])])),
            ("fewer values", ServerPackets.resultSet(columns: [ServerPackets.column("a", .long), ServerPackets.column("b", .long)], rows: [ServerPackets.textRow(["1"])])),
            ("beyond its end", ServerPackets.resultSet(columns: column, rows: [[0x05, 0x31]])),
            ("not an integer", ServerPackets.resultSet(columns: column, rows: [ServerPackets.textRow(["x"])])),
            ("sequence", [MySQLPacket(sequenceID: 5, payload: ServerPackets.ok())]),
            ("columns", [MySQLPacket(sequenceID: 1, payload: [0xFC, 0xFF, 0xFF])]),
        ]
        for (what, packets) in cases {
            var session = try loggedIn()
            _ = session.start(.query("SELECT"))
            do {
                for packet in packets { _ = try session.receive(packet) }
                Issue.record("\(what): accepted")
            } catch {
                #expect(error.code == .protocolViolation, "\(what): \(error)")
            }
        }
        var idle = try loggedIn()
        #expect(throws: MySQLError.self) { try idle.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.ok())) }
    }

    @Test("binary rows: NULL bitmap, signed and unsigned widths, dates, times, strings")
    func binaryRows() throws {
        let columns = [
            MySQLColumn(name: "t", type: .tiny), MySQLColumn(name: "u", type: .short, flags: 0x20), MySQLColumn(name: "n", type: .long),
            MySQLColumn(name: "l", type: .longlong), MySQLColumn(name: "d", type: .double), MySQLColumn(name: "dt", type: .datetime),
            MySQLColumn(name: "tm", type: .time), MySQLColumn(name: "s", type: .varString), MySQLColumn(name: "b", type: .blob, characterSet: 63),
        ]
        var payload: [UInt8] = [0x00, 0b0001_0000, 0x00]  // column 2 ("n") is NULL: bit 2 + 2
        payload += [0xFF]
        payload.appendInteger(65535, width: 2)
        payload.appendInteger(UInt64(bitPattern: -5), width: 8)
        payload.appendInteger((2.5).bitPattern, width: 8)
        payload += [7, 0xE8, 0x07, 12, 31, 23, 59, 58]
        payload += [8, 1, 1, 0, 0, 0, 2, 3, 4]
        payload.appendLengthEncoded(bytes: "hé".utf8)
        payload.appendLengthEncoded(bytes: [0, 1])
        let values = try MySQLRowDecoding.binaryRow(payload, columns: columns)
        #expect(values == [
            .int(-1), .unsigned(65535), .null, .int(-5), .double(2.5),
            .dateTime(MySQLDateTime(year: 2024, month: 12, day: 31, hour: 23, minute: 59, second: 58)),
            .time(MySQLTime(isNegative: true, hours: 26, minutes: 3, seconds: 4)), .string("hé"), .bytes([0, 1]),
        ])
        #expect(throws: MySQLError.self) { try MySQLRowDecoding.binaryRow(Array(payload.dropLast()), columns: columns) }
        #expect(throws: MySQLError.self) { try MySQLRowDecoding.binaryRow(payload + [0], columns: columns) }
    }

    @Test("COM_STMT_EXECUTE binds every parameter type in the binary protocol")
    func executePacket() {
        let payload = MySQLCommand.execute(7, [.int(-1), .null, .unsigned(2), .string("a")])
        #expect(Array(payload.prefix(10)) == [0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0])
        #expect(payload[10] == 0b0000_0010)  // NULL bitmap: parameter 1
        #expect(payload[11] == 1)  // types follow
        #expect(Array(payload[12..<20]) == [0x08, 0, 0x06, 0, 0x08, 0x80, 0xFD, 0])
        #expect(Array(payload[20...]) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x61])
    }

    @Test("COM_STMT_PREPARE's answer: parameters and columns")
    func prepare() throws {
        var session = try loggedIn()
        _ = session.start(.prepare("SELECT ? AS a"))
        var header: [UInt8] = [0x00]
        header.appendInteger(9, width: 4)
        header.appendInteger(1, width: 2)
        header.appendInteger(1, width: 2)
        header += [0, 0, 0]
        let packets = [header, ServerPackets.column("?", .varString), ServerPackets.eof(), ServerPackets.column("a", .varString), ServerPackets.eof()]
        var outputs: [MySQLSession.Output] = []
        for (index, payload) in packets.enumerated() { outputs += try session.receive(MySQLPacket(sequenceID: UInt8(index + 1), payload: payload)) }
        guard case .completed(.prepared(let statement)) = outputs.first else {
            Issue.record("\(outputs)")
            return
        }
        #expect(statement.id == 9 && statement.parameterCount == 1 && statement.columns.map(\.name) == ["a"])
    }

    @Test("configuration URLs")
    func urls() throws {
        let full = try MySQLConfiguration(url: "mysql://app%40x:p%3Ass@db.example:3307/shop")
        #expect(full.user == "app@x" && full.password == "p:ss" && full.host == "db.example" && full.port == 3307 && full.database == "shop")
        let bare = try MySQLConfiguration(url: "mariadb://root@localhost")
        #expect(bare.user == "root" && bare.port == 3306 && bare.database == nil)
        let socket = try MySQLConfiguration(url: "mysql://u:p@localhost/db?socket=/run/mysqld/mysqld.sock")
        #expect(socket.socketPath == "/run/mysqld/mysqld.sock")
        #expect(throws: MySQLError.self) { try MySQLConfiguration(url: "http://x") }
        #expect(throws: MySQLError.self) { try MySQLConfiguration(url: "mysql://x:99999") }
    }

    private func loggedIn() throws -> MySQLSession {
        var session = MySQLSession(credentials: .init(user: "app", password: "secret"))
        _ = try session.receive(MySQLPacket(sequenceID: 0, payload: ServerPackets.mariaDBGreeting))
        _ = try session.receive(MySQLPacket(sequenceID: 2, payload: ServerPackets.ok()))
        #expect(session.isReady)
        return session
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
}
