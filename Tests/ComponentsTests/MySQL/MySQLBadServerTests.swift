import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanMySQL

/// A fake MySQL server on the test loop: MariaDB's recorded greeting, any login accepted, then
/// `SELECT good` answered properly and anything else with what `bad` says.
private func fakeServer(_ testLoop: TestLoop, bad: @escaping () -> [MySQLPacket]) throws -> (TCPServer<MySQLPacketCodec>, MySQLConfiguration) {
    let server = try testLoop.harness.startServer(MySQLPacketCodec.self)
    server.onConnect = { connection in connection.send(MySQLPacket(sequenceID: 0, payload: ServerPackets.mariaDBGreeting)) }
    server.onMessage = { connection, packet in
        if packet.sequenceID == 1 {
            connection.send(MySQLPacket(sequenceID: 2, payload: ServerPackets.ok()))
        } else if packet.payload == [0x03] + Array("SELECT good".utf8) {
            let answer = ServerPackets.resultSet(columns: [ServerPackets.column("v", .varString)], rows: [ServerPackets.textRow(["fine"])])
            for packet in answer { connection.send(packet) }
        } else {
            for packet in bad() { connection.send(packet) }
        }
    }
    var configuration = MySQLConfiguration(host: "127.0.0.1", port: Int(server.listener!.address.port), user: "u", password: "p")
    configuration.queryTimeout = 1
    return (server, configuration)
}

@Suite("MySQL: a server that sends bad input or stalls (fake servers on loopback)")
struct MySQLBadServerTests {
    @Test("a malformed answer fails that query with the cause and the server, discards that connection; the other one goes on")
    func malformed() throws {
        let testLoop = try TestLoop()
        let (_, configuration) = try fakeServer(testLoop) {
            // Two values in a row of one column.
            ServerPackets.resultSet(columns: [ServerPackets.column("v", .varString)], rows: [ServerPackets.textRow(["a", "b"])])
        }
        let pool = MySQLPool(loop: testLoop.loop, configuration: configuration, options: .init(minConnections: 2, maxConnections: 2))
        defer { pool.close() }
        try testLoop.run(until: "two idle connections") { pool.idleCount == 2 }
        let bad = try wait(testLoop, "the bad query") { pool.query("SELECT bad", [], $0) }
        guard case .failure(let error) = bad else {
            Issue.record("a malformed row was accepted")
            return
        }
        #expect(error.code == .protocolViolation && error.message.contains("more values") && error.server == configuration.serverName)
        #expect(pool.connectionCount == 1)
        #expect(pool.statistics.protocolErrors == 1 && pool.statistics.discardedConnections == 1)
        #expect(try wait(testLoop, "a good query") { pool.query("SELECT good", [], $0) }.get().rows[0][0] == .string("fine"))
    }

    @Test("a length beyond the packet, and an ERR packet cut short, fail with protocol errors")
    func lengths() throws {
        for payload: [UInt8] in [[0x01], [0x00, 0xFE, 1, 2]] {
            let testLoop = try TestLoop()
            let (_, configuration) = try fakeServer(testLoop) {
                payload == [0x01]
                    ? ServerPackets.resultSet(columns: [ServerPackets.column("v", .varString)], rows: [[0xFC, 0xFF, 0x00, 0x41]])
                    : [MySQLPacket(sequenceID: 1, payload: payload)]
            }
            let connection = try connected(testLoop, configuration)
            let outcome = try wait(testLoop, "the query") { connection.query("SELECT bad", [], $0) }
            guard case .failure(let error) = outcome else {
                Issue.record("accepted \(payload)")
                continue
            }
            #expect(error.code == .protocolViolation, "\(error)")
            #expect(!connection.isReady)
        }
    }

    @Test("a server that stalls: login and queries time out naming the server")
    func stalls() throws {
        let testLoop = try TestLoop()
        // Accepting, never greeting: the connect succeeds, the greeting never comes.
        let silent = try testLoop.harness.startServer(MySQLPacketCodec.self)
        var configuration = MySQLConfiguration(port: Int(silent.listener!.address.port), user: "u")
        configuration.connectTimeout = 0.3
        let connection = MySQLConnection(loop: testLoop.loop, configuration: configuration)
        let login = try wait(testLoop, "the login timeout") { connection.connect($0) }
        guard case .failure(let error) = login else {
            Issue.record("logged in to nobody")
            return
        }
        #expect(error.code == .timeout && error.server == configuration.serverName, "\(error)")

        let (_, fake) = try fakeServer(testLoop) { [] }  // never answers the query
        let stalled = try connected(testLoop, fake)
        let started = monotonicSeconds()
        let outcome = try wait(testLoop, "the query timeout") { stalled.query("SELECT stall", [], $0) }
        #expect(monotonicSeconds() - started >= 0.9)
        if case .failure(let error) = outcome { #expect(error.code == .timeout) } else { Issue.record("answered") }
    }
}

@Suite("MySQL: closing")
struct MySQLClosingTests {
    @Test("closing while logging in or with calls queued fails them with .closed and leaves nothing open")
    func closeEarly() throws {
        let testLoop = try TestLoop()
        let silent = try testLoop.harness.startServer(MySQLPacketCodec.self)
        let configuration = MySQLConfiguration(port: Int(silent.listener!.address.port), user: "u")
        let connection = MySQLConnection(loop: testLoop.loop, configuration: configuration)
        var login: Result<Void, MySQLError>?
        var query: Result<MySQLResult, MySQLError>?
        connection.connect { login = $0 }
        connection.query("SELECT 1") { query = $0 }
        try testLoop.run(until: "the server accepts") { !silent.connections.isEmpty }
        connection.close()
        if case .failure(let error) = login { #expect(error.code == .closed) } else { Issue.record("login did not fail") }
        if case .failure(let error) = query { #expect(error.code == .closed) } else { Issue.record("query did not fail") }
        try testLoop.run(until: "the socket is closed") { silent.connections.isEmpty }
    }
}
