import Testing
import WorkermanMySQL

/// Runs the loop until `start`'s completion has run, and returns what it got.
func wait<Value>(
    _ testLoop: TestLoop,
    _ what: String,
    seconds: Double = 20,
    _ start: (@escaping (Result<Value, MySQLError>) -> Void) -> Void
) throws -> Result<Value, MySQLError> {
    var outcome: Result<Value, MySQLError>?
    start { outcome = $0 }
    try testLoop.run(until: what, seconds: seconds) { outcome != nil }
    return outcome!
}

/// A connected connection to the test server.
func connected(_ testLoop: TestLoop, _ configuration: MySQLConfiguration) throws -> MySQLConnection {
    let connection = MySQLConnection(loop: testLoop.loop, configuration: configuration)
    try wait(testLoop, "login") { connection.connect($0) }.get()
    return connection
}

/// Runs `sql` and returns its result (throwing the `MySQLError`).
@discardableResult
func run(_ testLoop: TestLoop, _ connection: MySQLConnection, _ sql: String, _ parameters: [MySQLValue] = []) throws -> MySQLResult {
    try wait(testLoop, sql) { connection.query(sql, parameters, $0) }.get()
}

/// The error `sql` fails with (recording an issue when it succeeds).
func failure(_ testLoop: TestLoop, _ connection: MySQLConnection, _ sql: String, _ parameters: [MySQLValue] = []) throws -> MySQLError? {
    switch try wait(testLoop, sql, { connection.query(sql, parameters, $0) }) {
    case .success:
        Issue.record("\(sql) should have failed")
        return nil
    case .failure(let error): return error
    }
}
