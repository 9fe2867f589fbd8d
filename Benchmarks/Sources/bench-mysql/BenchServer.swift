import BenchSupport
import Foundation
import WorkermanMySQL

/// The MariaDB the benchmark measures against: MYSQL_URL's, or a throw-away one it starts (fresh data
/// directory, free loopback port, the test accounts of Tests/Fixtures/mysql/init.sql) and stops by pid.
final class BenchServer {
    let configuration: MySQLConfiguration
    private var process: Process?
    private let directory: String?

    /// The server to stop at exit. Set once on the main thread before any other thread exists; read by
    /// the atexit handler on that same thread.
    nonisolated(unsafe) static var current: BenchServer?

    private init(configuration: MySQLConfiguration, process: Process?, directory: String?) {
        self.configuration = configuration
        self.process = process
        self.directory = directory
    }

    static func start(url: String?, repositoryRoot: String) throws -> BenchServer {
        if let url, !url.isEmpty { return BenchServer(configuration: try MySQLConfiguration(url: url), process: nil, directory: nil) }
        guard which("mariadbd"), which("mariadb-install-db") else {
            throw BenchError("no MYSQL_URL and no mariadbd to start (apt-get install mariadb-server)")
        }
        let directory = NSTemporaryDirectory() + "bench-mysql-db-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        log("starting a throw-away MariaDB in \(directory)")
        let install = runProgram(
            ["mariadb-install-db", "--no-defaults", "--datadir=\(directory)/data", "--auth-root-authentication-method=normal", "--skip-test-db"],
            timeout: 120
        )
        guard install.status == 0 else { throw BenchError("mariadb-install-db failed: \(install.output.suffix(500))") }
        let port = freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "mariadbd", "--no-defaults", "--datadir=\(directory)/data", "--port=\(port)", "--bind-address=127.0.0.1",
            "--socket=\(directory)/sock", "--pid-file=\(directory)/pid", "--user=\(NSUserName())", "--skip-log-bin",
            "--innodb-buffer-pool-size=128M", "--max-connections=500", "--init-file=\(repositoryRoot)/Tests/Fixtures/mysql/init.sql",
            "--log-error=\(directory)/server.log",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let server = BenchServer(
            configuration: try MySQLConfiguration(url: "mysql://wm:secret@127.0.0.1:\(port)/wmtest"),
            process: process,
            directory: directory
        )
        current = server
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            if log.contains("ready for connections") { return server }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
        server.stop()
        throw BenchError("mariadbd did not start: \(log.suffix(800))")
    }

    /// Stops a server we started (SIGTERM, SIGKILL after 20 s) and removes its data.
    func stop() {
        guard let process else { return }
        self.process = nil
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(20)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}
