import Foundation
import WorkermanEventLoop
import WorkermanMySQL

/// Runs a program to its end (at most `timeout` seconds), its output to a file; the exit status and output.
func runProgram(_ arguments: [String], timeout: Double) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let outputPath = NSTemporaryDirectory() + "bench-mysql-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    guard let handle = FileHandle(forWritingAtPath: outputPath) else { return (-1, "") }
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return (-1, "\(error)") }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    try? handle.close()
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return (process.isRunning ? -1 : process.terminationStatus, output)
}

func which(_ name: String) -> Bool {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
}

/// The server's count of SELECT statements (to count what mysqlslap ran).
func selectCount(_ configuration: MySQLConfiguration) throws -> Int64 {
    var count: Int64 = 0
    try onLoop { loop, done in
        let connection = MySQLConnection(loop: loop, configuration: configuration)
        connection.connect { _ in }
        connection.query("SHOW GLOBAL STATUS LIKE 'Com_select'") { result in
            count = (try? result.get().rows.first?[1].int ?? 0) ?? 0
            connection.close()
            done()
        }
    }
    return count
}

/// mysqlslap at `concurrency` with about `queries` point selects; queries per second (the SELECTs the
/// server counted over mysqlslap's own timing), or nil when it is missing or fails.
func measureMySQLSlap(_ configuration: MySQLConfiguration, queries: Int, concurrency: Int, rows: Int) -> Double? {
    let tool = which("mariadb-slap") ? "mariadb-slap" : "mysqlslap"
    guard which(tool) else {
        log("  mysqlslap: not installed (apt-get install mariadb-client): skipped")
        return nil
    }
    // Literal ids from a file (mysqlslap cycles through its statements): `WHERE id = FLOOR(RAND() * n)`
    // would scan the table, RAND() being evaluated per row.
    let queryFile = NSTemporaryDirectory() + "bench-mysql-queries-\(getpid()).sql"
    let statements = (0..<10_000).map { _ in "SELECT id, name, v FROM bench_points WHERE id = \(Int.random(in: 1...rows));" }
    _ = FileManager.default.createFile(atPath: queryFile, contents: Data(statements.joined(separator: "\n").utf8))
    defer { try? FileManager.default.removeItem(atPath: queryFile) }
    guard let before = try? selectCount(configuration) else { return nil }
    let (status, output) = runProgram(
        [
            tool, "--no-defaults", "--host=\(configuration.host)", "--port=\(configuration.port)", "--protocol=tcp",
            "--user=\(configuration.user)", "--password=\(configuration.password)",
            "--create-schema=\(configuration.database ?? "wmtest")", "--no-drop", "--concurrency=\(concurrency)", "--iterations=1",
            "--number-of-queries=\(queries)", "--delimiter=;", "--query=\(queryFile)",
        ],
        timeout: 300
    )
    guard status == 0, let after = try? selectCount(configuration),
        let line = output.split(separator: "\n").first(where: { $0.contains("Average number of seconds to run all queries") }),
        let secondsText = line.split(separator: ":").last?.split(separator: " ").first, let elapsed = Double(secondsText), elapsed > 0
    else {
        log("  mysqlslap failed (\(status)): \(output.suffix(500))")
        return nil
    }
    // The two status queries are SHOW, not SELECT: the difference is mysqlslap's own.
    return Double(after - before) / elapsed
}

/// PHP PDO in a Workerman 5.2.2 worker: one process, one blocking prepared point select at a time.
struct PDOPeer {
    let configuration: MySQLConfiguration
    let workerman: String?
    let directory: String

    init(configuration: MySQLConfiguration, repositoryRoot: String) {
        self.configuration = configuration
        let peers = ProcessInfo.processInfo.environment["WM_PHP_PEERS"] ?? repositoryRoot + "/../shared/peers/php"
        workerman = FileManager.default.fileExists(atPath: peers + "/workerman/src/Worker.php") ? peers + "/workerman/src" : nil
        directory = NSTemporaryDirectory() + "bench-mysql-php-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func measure(seconds: Double, rows: Int) -> Double? {
        guard which("php") else {
            log("  pdo: php is not installed (apt-get install php-cli php-mysql): skipped")
            return nil
        }
        guard let workerman else {
            log("  pdo: Workerman's PHP sources are absent (set WM_PHP_PEERS): skipped")
            return nil
        }
        let result = directory + "/result"
        let script = directory + "/pdo.php"
        try? FileManager.default.removeItem(atPath: result)
        let dsn = "mysql:host=\(configuration.host);port=\(configuration.port);dbname=\(configuration.database ?? "wmtest");charset=utf8mb4"
        let php = """
            <?php
            spl_autoload_register(function ($class) {
                if (str_starts_with($class, 'Workerman\\\\')) {
                    require '\(workerman)/' . str_replace('\\\\', '/', substr($class, 10)) . '.php';
                }
            });
            use Workerman\\Worker;
            Worker::$pidFile = __DIR__ . '/workerman.pid';
            Worker::$logFile = __DIR__ . '/workerman.log';
            $worker = new Worker();
            $worker->onWorkerStart = function () {
                $pdo = new PDO('\(dsn)', '\(configuration.user)', '\(configuration.password)', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
                $statement = $pdo->prepare('SELECT id, name, v FROM bench_points WHERE id = ?');
                $statement->execute([1]);
                $statement->fetchAll();
                $count = 0;
                $start = hrtime(true);
                $end = $start + (int)(\(seconds) * 1e9);
                while (($now = hrtime(true)) < $end) {
                    $statement->execute([random_int(1, \(rows))]);
                    if (count($statement->fetchAll(PDO::FETCH_ASSOC)) === 1) { $count++; }
                }
                file_put_contents('\(result)', $count / (($now - $start) / 1e9));
                posix_kill(posix_getppid(), SIGINT);
            };
            Worker::runAll();
            """
        _ = FileManager.default.createFile(atPath: script, contents: Data(php.utf8))
        let (status, output) = runProgram(["php", script, "start"], timeout: seconds + 60)
        guard let text = try? String(contentsOfFile: result, encoding: .utf8), let rate = Double(text) else {
            log("  pdo failed (\(status)): \(output.suffix(500))")
            return nil
        }
        return rate
    }
}
