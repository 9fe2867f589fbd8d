// bench-mysql: primary-key point selects from a 10,000-row table on a local MariaDB, three ways, in the
// same run (rounds interleaved, medians compared):
//
//   ours       one event loop, CONCURRENCY (32) queries in flight over a MySQLPool of as many connections,
//              each a prepared statement with the id bound;
//   pdo        PHP PDO (Debian php-mysql) in a Workerman 5.2.2 worker process, one blocking query at a time,
//              the way workerman/mysql works;
//   mysqlslap  MariaDB's C client load generator at the same concurrency (threads, text protocol).
//
// It starts its own throw-away MariaDB (mariadb-install-db + mariadbd on a free loopback port, stopped by
// pid at the end) unless MYSQL_URL names one. Environment: ROUNDS (3), SECONDS per measurement (5),
// CONCURRENCY (32), OURS_TEXT=1 (ours sends the id as a literal in a text query, as PDO's emulated
// prepares and mysqlslap do, instead of binding it), MYSQL_URL, WM_PHP_PEERS (the folder holding workerman/src; default
// ../shared/peers/php beside the repository). Ends with one line:
//
//   mysql ours/pdo=… ours/mysqlslap=…
import Foundation
import WorkermanEventLoop
import WorkermanMySQL

func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

let rounds = Int(environment("ROUNDS") ?? "") ?? 3
let seconds = Double(environment("SECONDS") ?? "") ?? 5
let concurrency = Int(environment("CONCURRENCY") ?? "") ?? 32
let rows = 10_000
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

let server: BenchServer
do {
    server = try BenchServer.start(url: environment("MYSQL_URL"), repositoryRoot: repositoryRoot)
} catch {
    log("bench-mysql: \(error)")
    exit(1)
}
defer { server.stop() }
signal(SIGINT) { _ in exit(130) }
atexit { BenchServer.current?.stop() }

do {
    try prepareTable(server.configuration, rows: rows)
} catch {
    log("bench-mysql: cannot fill the table: \(error)")
    exit(1)
}

var results: [String: [Double]] = ["ours": [], "pdo": [], "mysqlslap": []]
let pdo = PDOPeer(configuration: server.configuration, repositoryRoot: repositoryRoot)
for round in 1...max(1, rounds) {
    log("round \(round)/\(rounds)")
    let ours = try measureOurs(server.configuration, seconds: seconds, concurrency: concurrency, rows: rows)
    results["ours", default: []].append(ours)
    log(String(format: "  ours       %10.0f queries/s", ours))
    if let rate = pdo.measure(seconds: seconds, rows: rows) {
        results["pdo", default: []].append(rate)
        log(String(format: "  pdo        %10.0f queries/s", rate))
    }
    if let rate = measureMySQLSlap(server.configuration, queries: max(concurrency * 50, Int(ours * seconds)), concurrency: concurrency, rows: rows) {
        results["mysqlslap", default: []].append(rate)
        log(String(format: "  mysqlslap  %10.0f queries/s", rate))
    }
}

func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

print("| side | median queries/s | rounds |")
print("| --- | ---: | ---: |")
for side in ["ours", "pdo", "mysqlslap"] {
    let values = results[side] ?? []
    print("| \(side) | \(median(values).map { String(format: "%.0f", $0) } ?? "skipped") | \(values.count) |")
}
func ratio(_ side: String, _ results: [String: [Double]]) -> String {
    guard let ours = median(results["ours"] ?? []), let peer = median(results[side] ?? []), peer > 0 else { return "n/a" }
    return String(format: "%.2f", ours / peer)
}
print("mysql ours/pdo=\(ratio("pdo", results)) ours/mysqlslap=\(ratio("mysqlslap", results))")
