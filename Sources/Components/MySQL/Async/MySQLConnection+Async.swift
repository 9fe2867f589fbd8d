import WorkermanEventLoop

// The async forms of a single connection, for tasks on its loop (`loop.task`, an async handler). Each
// throws the `MySQLError` the callback form reports.
//
// Cancellation: a call not yet sent (queued behind another) is withdrawn and never runs; a statement
// already sent runs to its end on the server (MySQL has no way to take it back on the same
// connection) while the task throws `.cancelled` at once and the answer is dropped. The connection
// stays in step either way: the next call waits for that answer.
extension MySQLConnection {
    /// Connects and logs in.
    ///
    /// ```swift
    /// loop.task { _ in
    ///     let connection = MySQLConnection(loop: loop, configuration: configuration)
    ///     try await connection.connect()
    ///     let rows = try await connection.query("SELECT id, name FROM users WHERE id > ?", [.int(10)]).rows
    /// }
    /// ```
    public func connect() async throws(MySQLError) {
        try await loop.awaitMySQL("MySQLConnection.connect", server: configuration.serverName) { done in
            connect(done)
            return nil
        }
    }

    /// Runs `sql` (see `query(_:_:_:)`): the result, or the server's error.
    @discardableResult
    public func query(_ sql: String, _ parameters: [MySQLValue] = []) async throws(MySQLError) -> MySQLResult {
        try await loop.awaitMySQL("MySQLConnection.query", server: configuration.serverName) { done in
            let ticket = queryCall(sql, parameters, done)
            return { [weak self] in self?.cancelQueued(ticket) }
        }
    }

    /// COM_PING.
    public func ping() async throws(MySQLError) {
        try await loop.awaitMySQL("MySQLConnection.ping", server: configuration.serverName) { done in
            ping(done)
            return nil
        }
    }

    /// The first row of `sql`'s result, nil when it has none (workerman/mysql's `row`).
    public func row(_ sql: String, _ parameters: [MySQLValue] = []) async throws(MySQLError) -> MySQLRow? {
        try await query(sql, parameters).rows.first
    }

    /// The first column of the first row, nil when there is no row (workerman/mysql's `single`).
    ///
    /// ```swift
    /// let count = try await connection.single("SELECT COUNT(*) FROM users")?.int ?? 0
    /// ```
    public func single(_ sql: String, _ parameters: [MySQLValue] = []) async throws(MySQLError) -> MySQLValue? {
        try await row(sql, parameters)?.values.first
    }
}
