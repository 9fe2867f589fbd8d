import Testing
import WorkermanEventLoop
import WorkermanMySQL

@Suite(
    "MySQL: async forms against a real MariaDB",
    .enabled(if: MariaDBServer.isAvailable, "no MariaDB: set WORKERMAN_MYSQL_URL or apt-get install mariadb-server")
)
struct MySQLAsyncTests {
    @Test("query, row, single, a connection, transactions: each await resumes on the loop thread")
    func awaits() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: .init(maxConnections: 2))
        defer { pool.close() }
        let table = uniqueTable("async")
        var log: [String] = []
        var failure: (any Error)?
        var finished = false
        testLoop.loop.task { loop in
            do {
                try await pool.query("CREATE TABLE \(table) (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB")
                loop.preconditionOnLoop()
                let insert = try await pool.query("INSERT INTO \(table) VALUES (?, ?)", [.int(1), .string("ann")])
                log.append("inserted \(insert.affectedRows)")
                log.append("row \(try await pool.row("SELECT name FROM \(table) WHERE id = ?", [.int(1)])?["name"] ?? .null)")
                log.append("none \(try await pool.row("SELECT name FROM \(table) WHERE id = ?", [.int(9)]) == nil)")
                log.append("single \(try await pool.single("SELECT COUNT(*) FROM \(table)")?.int ?? -1)")
                try await pool.transaction { connection in
                    loop.preconditionOnLoop()
                    try await connection.query("INSERT INTO \(table) VALUES (?, ?)", [.int(2), .string("bob")])
                }
                struct Refused: Error {}
                do {
                    try await pool.transaction { connection in
                        try await connection.query("INSERT INTO \(table) VALUES (?, ?)", [.int(3), .string("cy")])
                        throw Refused()
                    }
                } catch is Refused {
                    log.append("rolled back")
                }
                do throws(MySQLError) {
                    try await pool.query("SELEKT 1")
                } catch {
                    log.append("server error \(error.serverCode ?? 0)")
                }
                let ids = try await pool.withConnection { connection in
                    loop.preconditionOnLoop()
                    return try await connection.query("SELECT id FROM \(table) ORDER BY id").rows.map { $0[0] }
                }
                log.append("ids \(ids.compactMap(\.int))")
                try await pool.query("DROP TABLE \(table)")
                loop.preconditionOnLoop()
            } catch {
                failure = error
            }
            finished = true
        }
        try testLoop.run(until: "the calls") { finished }
        #expect(failure == nil, "\(String(describing: failure))")
        #expect(log == ["inserted 1", "row ann", "none true", "single 1", "rolled back", "server error 1064", "ids [1, 2]"])
        #expect(pool.idleCount == pool.connectionCount)
    }

    @Test("a connection's async forms: connect, query, ping; a queued call withdrawn by cancellation never runs")
    func connectionAwaits() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = MySQLConnection(loop: testLoop.loop, configuration: server.configuration)
        defer { connection.close() }
        var log: [String] = []
        var finished = false
        testLoop.loop.task { loop in
            do {
                try await connection.connect()
                try await connection.ping()
                log.append("single \(try await connection.single("SELECT ? + 1", [.int(41)])?.int ?? 0)")
            } catch {
                log.append("error \(error)")
            }
            loop.preconditionOnLoop()
            finished = true
        }
        try testLoop.run(until: "the calls") { finished }
        #expect(log == ["single 42"])
        // Two calls on one connection: the second waits behind the first; cancelling it withdraws it.
        var first: MySQLError?
        var firstValue: MySQLValue?
        var second: MySQLError?
        testLoop.loop.task { _ in
            do throws(MySQLError) { firstValue = try await connection.single("SELECT SLEEP(0.3) + 7") } catch { first = error }
        }
        let queued = testLoop.loop.task { _ in
            do throws(MySQLError) { try await connection.query("SELECT 'must not run'") } catch { second = error }
        }
        queued.cancel()
        try testLoop.run(until: "both answers") { second != nil && (firstValue != nil || first != nil) }
        #expect(second?.code == .cancelled)
        #expect(first == nil && firstValue?.int == 7)
        #expect(!connection.isBusy && connection.isReady)
    }

    @Test("cancellation: a waiting caller leaves the queue; a sent statement finishes before its connection is reused")
    func cancellation() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: .init(maxConnections: 1))
        defer { pool.close() }
        let table = uniqueTable("cancel")
        _ = try wait(testLoop, "create") { pool.query("CREATE TABLE \(table) (id INT PRIMARY KEY) ENGINE=InnoDB", [], $0) }.get()
        defer { _ = try? wait(testLoop, "drop") { pool.query("DROP TABLE \(table)", [], $0) } }

        // A statement in flight: the task throws .cancelled at once; the connection is not lent again
        // until the statement's answer came, so the next caller reads its own answer.
        var sent: MySQLError?
        let slow = testLoop.loop.task { _ in
            do throws(MySQLError) { try await pool.query("SELECT SLEEP(0.3), 'slow'") } catch { sent = error }
        }
        try testLoop.run(until: "the statement is out") { pool.connectionCount == 1 && pool.idleCount == 0 && pool.waiterCount == 0 }
        // A caller waiting for that connection: cancelled, it leaves the queue without running.
        var waited: MySQLError?
        let waiting = testLoop.loop.task { _ in
            do throws(MySQLError) { try await pool.query("INSERT INTO \(table) VALUES (1)") } catch { waited = error }
        }
        try testLoop.run(until: "the second caller waits") { pool.waiterCount == 1 }
        waiting.cancel()
        slow.cancel()
        try testLoop.run(until: "both cancelled") { sent != nil && waited != nil }
        #expect(sent?.code == .cancelled && waited?.code == .cancelled)
        #expect(pool.waiterCount == 0)
        var next: MySQLValue?
        testLoop.loop.task { _ in next = try await pool.single("SELECT COUNT(*) FROM \(table)") }
        try testLoop.run(until: "the next caller") { next != nil }
        #expect(next?.int == 0)

        // A transaction whose task is cancelled mid-statement is rolled back once that statement is done.
        var transactionError: (any Error)?
        var inserted = false
        let transaction = testLoop.loop.task { _ in
            do {
                try await pool.transaction { connection in
                    try await connection.query("INSERT INTO \(table) VALUES (2)")
                    inserted = true  // the next statement is sent before this task suspends again
                    try await connection.query("SELECT SLEEP(0.3)")
                }
            } catch { transactionError = error }
        }
        try testLoop.run(until: "the transaction's second statement") { inserted }
        transaction.cancel()
        try testLoop.run(until: "the transaction's end") { transactionError != nil }
        #expect((transactionError as? MySQLError)?.code == .cancelled)
        var rows: MySQLValue?
        testLoop.loop.task { _ in rows = try await pool.single("SELECT COUNT(*) FROM \(table)") }
        try testLoop.run(until: "the count") { rows != nil }
        #expect(rows?.int == 0)
        #expect(pool.idleCount == 1)
    }
}
