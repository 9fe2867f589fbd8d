import Foundation
import WorkermanEventLoop
import WorkermanMySQL

#if canImport(Glibc)
import Glibc
#endif

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` on a fresh loop until it calls `done`, at most `timeout` seconds.
func onLoop(timeout: Double = 60, _ body: (EventLoop, @escaping () -> Void) -> Void) throws {
    let loop = try EventLoop()
    defer { loop.close() }
    var finished = false
    let guardTimer = try loop.addTimer(after: timeout) { loop.stop() }
    body(loop) {
        finished = true
        loop.stop()
    }
    if !finished { try loop.run(.untilStopped) }
    loop.cancelTimer(guardTimer)
    guard finished else { throw BenchError("no answer within \(timeout) s") }
}

/// Creates `bench_points` with `rows` rows (id 1…rows) unless it already has them.
func prepareTable(_ configuration: MySQLConfiguration, rows: Int) throws {
    var failure: MySQLError?
    try onLoop { loop, done in
        let connection = MySQLConnection(loop: loop, configuration: configuration)
        connection.connect { _ in }
        connection.query("SELECT COUNT(*) FROM bench_points") { result in
            if let count = try? result.get().rows.first?[0].int, count == Int64(rows) {
                connection.close()
                return done()
            }
            var statements = [
                "DROP TABLE IF EXISTS bench_points",
                "CREATE TABLE bench_points (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL, v INT NOT NULL) ENGINE=InnoDB",
            ]
            for start in stride(from: 1, through: rows, by: 1000) {
                let values = (start..<min(rows + 1, start + 1000)).map { "(\($0), 'name-\($0)', \($0 * 7 % 1000))" }
                statements.append("INSERT INTO bench_points VALUES " + values.joined(separator: ","))
            }
            connection.query(statements.joined(separator: ";")) { result in
                if case .failure(let error) = result { failure = error }
                connection.close()
                done()
            }
        }
    }
    if let failure { throw failure }
}

/// OURS_TEXT=1: the id as a literal in a text query, as PDO (emulated prepares) and mysqlslap send it,
/// instead of a bound parameter of a prepared statement.
let textProtocol = ProcessInfo.processInfo.environment["OURS_TEXT"] == "1"

/// Point selects with `concurrency` in flight for `seconds`; queries per second.
func measureOurs(_ configuration: MySQLConfiguration, seconds: Double, concurrency: Int, rows: Int) throws -> Double {
    var completed = 0
    var failures = 0
    var elapsed = 0.0
    try onLoop(timeout: seconds + 60) { loop, done in
        let pool = MySQLPool(loop: loop, configuration: configuration, options: .init(minConnections: concurrency, maxConnections: concurrency))
        var generator = SystemRandomNumberGenerator()
        var running = concurrency
        var start: UInt64 = 0
        var deadline: UInt64 = 0
        func next() {
            guard loop.clock.nanoseconds() < deadline else {
                running -= 1
                if running == 0 {
                    elapsed = Double(loop.clock.nanoseconds() - start) / 1e9
                    pool.close()
                    done()
                }
                return
            }
            let id = Int64.random(in: 1...Int64(rows), using: &generator)
            let sql = textProtocol ? "SELECT id, name, v FROM bench_points WHERE id = \(id)" : "SELECT id, name, v FROM bench_points WHERE id = ?"
            pool.query(sql, textProtocol ? [] : [.int(id)]) { result in
                if case .success(let result) = result, result.rows.count == 1 { completed += 1 } else { failures += 1 }
                next()
            }
        }
        // Warm: every connection open and its statement prepared, before the clock starts.
        var warmed = 0
        for _ in 0..<concurrency {
            pool.query("SELECT id, name, v FROM bench_points WHERE id = ?", [.int(1)]) { _ in
                warmed += 1
                guard warmed == concurrency else { return }
                start = loop.clock.nanoseconds()
                deadline = start + UInt64(seconds * 1e9)
                for _ in 0..<concurrency { next() }
            }
        }
    }
    if failures > 0 { throw BenchError("\(failures) queries failed") }
    return Double(completed) / elapsed
}
