import Testing
import WorkermanMySQL

@Suite(
    "MySQL: the client against a real MariaDB",
    .enabled(if: MariaDBServer.isAvailable, "no MariaDB: set WORKERMAN_MYSQL_URL or apt-get install mariadb-server")
)
struct MySQLClientTests {
    @Test("logs in with mysql_native_password, runs a query, pings, quits")
    func login() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = try connected(testLoop, server.configuration)
        #expect(connection.serverVersion.contains("MariaDB") || !connection.serverVersion.isEmpty)
        let result = try run(testLoop, connection, "SELECT 1 AS one, 'héllo 🐬' AS text, NULL AS nothing")
        #expect(result.rows.count == 1)
        #expect(result.rows[0]["one"] == .int(1))
        #expect(result.rows[0]["text"] == .string("héllo 🐬"))
        #expect(result.rows[0]["nothing"] == .null)
        try wait(testLoop, "ping") { connection.ping($0) }.get()
        connection.close()
        let after = try wait(testLoop, "query after close") { connection.query("SELECT 1", [], $0) }
        #expect(throws: MySQLError.self) { try after.get() }
    }

    @Test("a wrong password is refused with the server's error 1045")
    func wrongPassword() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        var configuration = server.configuration
        configuration.password = "wrong"
        let connection = MySQLConnection(loop: testLoop.loop, configuration: configuration)
        let outcome = try wait(testLoop, "login") { connection.connect($0) }
        guard case .failure(let error) = outcome else {
            Issue.record("logged in with a wrong password")
            return
        }
        #expect(error.code == .authentication && error.serverCode == 1045 && error.sqlState == "28000")
        #expect(error.server == configuration.serverName)
    }

    @Test("an auth switch request (the client starts with caching_sha2_password) ends logged in")
    func authSwitch() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        var configuration = server.configuration
        configuration.defaultAuthPlugin = "caching_sha2_password"
        let connection = try connected(testLoop, configuration)
        #expect(try run(testLoop, connection, "SELECT CURRENT_USER() AS me").rows[0]["me"]?.string?.hasPrefix("wm@") == true)
        connection.close()
    }

    @Test("an account on an unknown authentication method (ed25519) fails with its name")
    func unknownPlugin() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        var configuration = server.configuration
        configuration.user = "edwin"
        let connection = MySQLConnection(loop: testLoop.loop, configuration: configuration)
        let outcome = try wait(testLoop, "login") { connection.connect($0) }
        guard case .failure(let error) = outcome else {
            Issue.record("logged in over ed25519")
            return
        }
        #expect(error.code == .authentication && error.message.contains("client_ed25519"), "\(error)")
    }

    @Test("an account with no password logs in")
    func emptyPassword() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        var configuration = server.configuration
        configuration.user = "nopass"
        configuration.password = ""
        let connection = try connected(testLoop, configuration)
        #expect(try run(testLoop, connection, "SELECT 2 AS two").rows[0][0] == .int(2))
        connection.close()
    }

    @Test("server errors carry code, SQL state, message and server; the connection stays usable")
    func errors() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = try connected(testLoop, server.configuration)
        defer { connection.close() }
        let syntax = try failure(testLoop, connection, "SELEC 1")
        #expect(syntax?.serverCode == 1064 && syntax?.sqlState == "42000" && syntax?.code == .server)
        #expect(syntax?.description.contains(server.configuration.serverName) == true)
        let table = uniqueTable("dup")
        try run(testLoop, connection, "CREATE TABLE \(table) (id INT PRIMARY KEY)")
        defer { _ = try? run(testLoop, connection, "DROP TABLE \(table)") }
        try run(testLoop, connection, "INSERT INTO \(table) VALUES (?)", [.int(1)])
        let duplicate = try failure(testLoop, connection, "INSERT INTO \(table) VALUES (?)", [.int(1)])
        #expect(duplicate?.serverCode == 1062 && duplicate?.sqlState == "23000")
        let missing = try failure(testLoop, connection, "SELECT * FROM no_such_table_here WHERE id = ?", [.int(1)])
        #expect(missing?.serverCode == 1146)
        let arity = try failure(testLoop, connection, "SELECT ? + ?", [.int(1)])
        #expect(arity?.code == .invalidArgument)
        #expect(try run(testLoop, connection, "SELECT 3").rows[0][0] == .int(3))
    }

    @Test("several statements in one query give one result set each")
    func multipleResults() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = try connected(testLoop, server.configuration)
        defer { connection.close() }
        let table = uniqueTable("multi")
        let result = try run(
            testLoop,
            connection,
            "CREATE TABLE \(table) (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT); INSERT INTO \(table) (v) VALUES ('a'), ('b'); SELECT id, v FROM \(table) ORDER BY id; SELECT COUNT(*) AS n FROM \(table); DROP TABLE \(table)"
        )
        #expect(result.sets.count == 5)
        #expect(result.sets[1].affectedRows == 2 && result.sets[1].lastInsertID == 1)
        #expect(result.sets[2].rows.map { $0["v"] } == [.string("a"), .string("b")])
        #expect(result.sets[3].rows[0]["n"] == .int(2))
        // A failing statement in the middle: what ran before is done, the call fails with the error.
        let error = try failure(testLoop, connection, "SELECT 1; SELEC 2; SELECT 3")
        #expect(error?.serverCode == 1064)
        #expect(try run(testLoop, connection, "SELECT 4").rows[0][0] == .int(4))
    }

    @Test("a deadlock fails one side with 1213 (retryable); retried, it succeeds")
    func deadlock() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let first = try connected(testLoop, server.configuration)
        let second = try connected(testLoop, server.configuration)
        defer {
            first.close()
            second.close()
        }
        let table = uniqueTable("locks")
        try run(testLoop, first, "CREATE TABLE \(table) (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
        defer { _ = try? run(testLoop, first, "DROP TABLE \(table)") }
        try run(testLoop, first, "INSERT INTO \(table) VALUES (1, 0), (2, 0)")
        try run(testLoop, first, "BEGIN; UPDATE \(table) SET v = 1 WHERE id = 1")
        try run(testLoop, second, "BEGIN; UPDATE \(table) SET v = 2 WHERE id = 2")
        var outcomes: [Result<MySQLResult, MySQLError>] = []
        first.query("UPDATE \(table) SET v = 1 WHERE id = ?", [.int(2)]) { outcomes.append($0) }
        second.query("UPDATE \(table) SET v = 2 WHERE id = ?", [.int(1)]) { outcomes.append($0) }
        // The loser's error and the winner's success come close together, in either order.
        try testLoop.run(until: "both answered", seconds: 30) { outcomes.count == 2 }
        let loser = outcomes.compactMap { result -> MySQLError? in if case .failure(let error) = result { error } else { nil } }.first
        #expect(loser?.serverCode == 1213 && loser?.isRetryable == true && loser?.sqlState == "40001", "\(outcomes)")
        // The loser's transaction is gone; the winner commits; the loser's retry then succeeds.
        try run(testLoop, first, "COMMIT")
        try run(testLoop, second, "COMMIT")
        let retried = try run(testLoop, second, "UPDATE \(table) SET v = 3 WHERE id IN (1, 2)")
        #expect(retried.affectedRows == 2)
    }
}
