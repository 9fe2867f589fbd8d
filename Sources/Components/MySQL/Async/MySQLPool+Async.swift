import WorkermanEventLoop

// The async forms of the pool, for tasks on its loop (`loop.task`, an async handler). Each throws the
// `MySQLError` the callback form reports.
//
// Cancellation never leaves a pooled connection mid-query: a task cancelled while it waits for a
// connection leaves the queue (`.cancelled`, no statement sent); a task cancelled once its statement
// is sent throws `.cancelled` at once, while the statement runs to its end and the connection goes back
// to the pool only when its answer has come (so the statement may have taken effect).
extension MySQLPool {
    /// Runs `sql` on a pooled connection (see `query(_:_:_:)`).
    ///
    /// ```swift
    /// worker.onMessageAsync = { connection, request in
    ///     let users = try await pool.query("SELECT id, name FROM users WHERE team = ?", [.int(3)]).decode(User.self)
    ///     connection.send(.response(HTTPResponse(body: "\(users.count) users")))
    /// }
    /// ```
    @discardableResult
    public func query(_ sql: String, _ parameters: [MySQLValue] = []) async throws(MySQLError) -> MySQLResult {
        try await loop.awaitMySQL("MySQLPool.query", server: configuration.serverName) { done in
            let ticket = query(sql, parameters, done)
            return { [weak self] in self?.cancel(ticket) }
        }
    }

    /// The first row of `sql`'s result, nil when it has none (workerman/mysql's `row`).
    public func row(_ sql: String, _ parameters: [MySQLValue] = []) async throws(MySQLError) -> MySQLRow? {
        try await query(sql, parameters).rows.first
    }

    /// The first column of the first row, nil when there is no row (workerman/mysql's `single`).
    ///
    /// ```swift
    /// let name = try await pool.single("SELECT name FROM users WHERE id = ?", [.int(7)])?.string
    /// ```
    public func single(_ sql: String, _ parameters: [MySQLValue] = []) async throws(MySQLError) -> MySQLValue? {
        try await row(sql, parameters)?.values.first
    }

    /// Borrows a connection; give it back with `release(_:)` (or use `withConnection`).
    ///
    /// ```swift
    /// let connection = try await pool.acquire()
    /// defer { pool.release(connection) }
    /// try await connection.query("SET @mark = ?", [.int(1)])
    /// ```
    public func acquire() async throws(MySQLError) -> MySQLConnection {
        try await loop.awaitMySQL("MySQLPool.acquire", server: configuration.serverName) { done in
            let ticket = acquire(done)
            return { [weak self] in self?.cancel(ticket) }
        }
    }

    /// Lends a connection to `body` and takes it back when `body` returns or throws, once the
    /// connection has finished what `body` started (a statement a cancelled `body` left running).
    ///
    /// ```swift
    /// let (count, names) = try await pool.withConnection { connection in
    ///     try await connection.query("SET @n = 0")
    ///     return (try await connection.single("SELECT COUNT(*) FROM users"), try await connection.query("SELECT name FROM users"))
    /// }
    /// ```
    public func withConnection<Value>(_ body: (MySQLConnection) async throws -> Value) async throws -> Value {
        let connection = try await acquire()
        do {
            let value = try await body(connection)
            giveBack(connection)
            return value
        } catch {
            giveBack(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on one connection: `START TRANSACTION`, then `COMMIT` when `body`
    /// returns, `ROLLBACK` when it throws (its error is rethrown) or the task is cancelled.
    ///
    /// ```swift
    /// try await pool.transaction { connection in
    ///     try await connection.query("UPDATE accounts SET balance = balance - ? WHERE id = ?", [.int(10), .int(1)])
    ///     try await connection.query("UPDATE accounts SET balance = balance + ? WHERE id = ?", [.int(10), .int(2)])
    /// }
    /// ```
    ///
    /// A `COMMIT` whose answer the task did not wait for (cancelled meanwhile) may have committed; the
    /// task throws `.cancelled` either way. Retry on `error.isRetryable` (a deadlock) by calling again.
    public func transaction<Value>(_ body: (MySQLConnection) async throws -> Value) async throws -> Value {
        try await withConnection { connection in
            try await connection.query("START TRANSACTION")
            let value = try await body(connection)
            try await connection.query("COMMIT")
            return value
        }
    }

    /// Hands `connection` back after whatever it still runs: a call queued now runs after it, so its
    /// answer means the connection is idle (`release` rolls back a transaction left open).
    private func giveBack(_ connection: MySQLConnection) {
        guard connection.isBusy else {
            release(connection)
            return
        }
        connection.ping { [weak self] _ in self?.release(connection) }
    }
}
