import Testing
import WorkermanMySQL

@Suite(
    "MySQL: the pool against a real MariaDB",
    .enabled(if: MariaDBServer.isAvailable, "no MariaDB: set WORKERMAN_MYSQL_URL or apt-get install mariadb-server")
)
struct MySQLPoolTests {
    @Test("32 queries in flight share at most 4 connections, one statement at a time on each")
    func inFlight() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: .init(maxConnections: 4))
        defer { pool.close() }
        var answers: [Int: Int64] = [:]
        var failures: [MySQLError] = []
        for index in 0..<32 {
            pool.query("SELECT CONNECTION_ID() AS connection, ? AS n", [.int(Int64(index))]) { result in
                switch result {
                case .success(let result): answers[Int(result.rows[0]["n"]?.int ?? -1)] = result.rows[0]["connection"]?.int
                case .failure(let error): failures.append(error)
                }
            }
        }
        #expect(pool.connectionCount <= 4)
        try testLoop.run(until: "32 answers") { answers.count + failures.count == 32 }
        #expect(failures.isEmpty, "\(failures)")
        #expect(Set(answers.keys) == Set(0..<32))
        #expect(Set(answers.values).count <= 4)
        #expect(pool.connectionCount <= 4 && pool.idleCount == pool.connectionCount)
    }

    @Test("pool exhaustion: past maxWaiters a caller fails at once; a waiter times out; a waiter can be cancelled")
    func exhaustion() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        var options = MySQLPool.Options(maxConnections: 1)
        options.maxWaiters = 2
        options.acquireTimeout = 0.5
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: options)
        defer { pool.close() }
        let held = try wait(testLoop, "a connection") { pool.acquire($0) }.get()
        var outcomes: [String: Result<MySQLResult, MySQLError>] = [:]
        let cancelled = pool.query("SELECT 1") { outcomes["cancelled"] = $0 }
        pool.query("SELECT 2") { outcomes["timed out"] = $0 }
        pool.query("SELECT 3") { outcomes["refused"] = $0 }
        try testLoop.run(until: "the refusal") { outcomes["refused"] != nil }
        #expect(outcomes["refused"].flatMap { try? $0.get() } == nil)
        if case .failure(let error) = outcomes["refused"] { #expect(error.code == .poolExhausted) }
        pool.cancel(cancelled)
        if case .failure(let error) = outcomes["cancelled"] { #expect(error.code == .cancelled) } else { Issue.record("not cancelled") }
        try testLoop.run(until: "the timeout") { outcomes["timed out"] != nil }
        if case .failure(let error) = outcomes["timed out"] { #expect(error.code == .timeout) } else { Issue.record("no timeout") }
        pool.release(held)
        #expect(try wait(testLoop, "after release") { pool.query("SELECT 4", [], $0) }.get().rows[0][0] == .int(4))
    }

    @Test("transactions: ROLLBACK undoes, COMMIT keeps, and a connection released mid-transaction is rolled back")
    func transactions() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: .init(maxConnections: 1))
        defer { pool.close() }
        let table = uniqueTable("tx")
        _ = try wait(testLoop, "create") { pool.query("CREATE TABLE \(table) (id INT PRIMARY KEY) ENGINE=InnoDB", [], $0) }.get()
        defer { _ = try? wait(testLoop, "drop") { pool.query("DROP TABLE \(table)", [], $0) } }
        let connection = try wait(testLoop, "a connection") { pool.acquire($0) }.get()
        try run(testLoop, connection, "BEGIN")
        try run(testLoop, connection, "INSERT INTO \(table) VALUES (?)", [.int(1)])
        #expect(connection.isInTransaction)
        try run(testLoop, connection, "ROLLBACK")
        try run(testLoop, connection, "START TRANSACTION")
        try run(testLoop, connection, "INSERT INTO \(table) VALUES (?)", [.int(2)])
        try run(testLoop, connection, "COMMIT")
        try run(testLoop, connection, "BEGIN")
        try run(testLoop, connection, "INSERT INTO \(table) VALUES (?)", [.int(3)])
        pool.release(connection)
        let ids = try wait(testLoop, "select") { pool.query("SELECT id FROM \(table) ORDER BY id", [], $0) }.get()
        #expect(ids.rows.map { $0[0] } == [.int(2)])
    }

    @Test("a connection the server kills mid-query fails that query only; the pool opens a new one")
    func killedConnection() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: .init(maxConnections: 2))
        defer { pool.close() }
        let victim = try wait(testLoop, "a connection") { pool.acquire($0) }.get()
        let killer = try connected(testLoop, server.configuration)
        defer { killer.close() }
        var slow: Result<MySQLResult, MySQLError>?
        victim.query("SELECT SLEEP(20)") { slow = $0 }
        try run(testLoop, killer, "KILL CONNECTION \(victim.connectionID)")
        try testLoop.run(until: "the killed query's answer") { slow != nil }
        guard case .failure(let error) = slow else {
            Issue.record("a killed query succeeded")
            return
        }
        #expect(error.server == server.configuration.serverName)
        try testLoop.run(until: "the connection is discarded") { !victim.isReady }
        pool.release(victim)
        #expect(try wait(testLoop, "next") { pool.query("SELECT 5", [], $0) }.get().rows[0][0] == .int(5))
    }

    @Test("a server killed mid-query: a clear error naming it, and the pool recovers when it is back")
    func serverCrash() throws {
        guard MariaDBServer.isInstalled else { return }
        let server = try MariaDBServer(privateNamed: "crash")
        defer { server.stop() }
        let testLoop = try TestLoop()
        var options = MySQLPool.Options(minConnections: 2, maxConnections: 2)
        options.healthCheckInterval = 0.2
        let pool = MySQLPool(loop: testLoop.loop, configuration: server.configuration, options: options)
        defer { pool.close() }
        var slow: Result<MySQLResult, MySQLError>?
        pool.query("SELECT SLEEP(20)") { slow = $0 }
        try testLoop.run(for: 0.3)
        server.crash()
        try testLoop.run(until: "the query's failure") { slow != nil }
        guard case .failure(let error) = slow else {
            Issue.record("the query survived its server")
            return
        }
        #expect(error.code == .connection && error.server == server.configuration.serverName, "\(error)")
        let down = try wait(testLoop, "a query while down") { pool.query("SELECT 1", [], $0) }
        #expect((try? down.get()) == nil)
        try server.launchServer()
        var back: Result<MySQLResult, MySQLError>?
        try testLoop.run(until: "a query after the restart", seconds: 30) {
            if back.map({ (try? $0.get()) != nil }) == true { return true }
            if back != nil || slow != nil { back = nil; slow = nil; pool.query("SELECT 6") { back = $0 } }
            return false
        }
        #expect(try back?.get().rows[0][0] == .int(6))
        try testLoop.run(until: "the minimum is back") { pool.connectionCount == 2 }
    }
}
