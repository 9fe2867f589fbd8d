import WorkermanMySQL
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The MariaDB the MySQL tests talk to: the one `.ci/run` started (`WORKERMAN_MYSQL_URL`, a server that
/// ran Tests/Fixtures/mysql/init.sql, whose accounts the tests log in with), or else a
/// private throw-away server started once per test process from `mariadbd` (own data directory, free
/// loopback port, accounts from Tests/Fixtures/mysql/init.sql), stopped by pid when the process exits.
final class MariaDBServer: Sendable {
    let url: String
    /// The server process (nil for the one `.ci/run` started): changes only in the test that owns a
    /// private server and restarts it, on that test's thread.
    nonisolated(unsafe) private(set) var pid: pid_t?
    let directory: String?
    private let launch: [String]

    /// A configuration for the `wm` account on the test database.
    var configuration: MySQLConfiguration {
        // The URL parses: it was built or checked when the server was chosen.
        (try? MySQLConfiguration(url: url)) ?? MySQLConfiguration(user: "wm")
    }

    static var isInstalled: Bool {
        findExecutable("mariadbd") != nil && findExecutable("mariadb-install-db") != nil
    }

    /// Whether the shared server is there (or can be started).
    static var isAvailable: Bool { getenv("WORKERMAN_MYSQL_URL") != nil || isInstalled }

    static let shared: Result<MariaDBServer, HarnessError> = {
        if let url = getenv("WORKERMAN_MYSQL_URL").map({ String(cString: $0) }), !url.isEmpty {
            return .success(MariaDBServer(url: url))
        }
        do {
            let server = try MariaDBServer(privateNamed: "shared")
            stopAtExit(server)
            return .success(server)
        } catch let error as HarnessError {
            return .failure(error)
        } catch {
            return .failure(HarnessError("\(error)"))
        }
    }()

    static func sharedServer() throws -> MariaDBServer { try shared.get() }

    private init(url: String) {
        self.url = url
        pid = nil
        directory = nil
        launch = []
    }

    /// Starts a private server (for the shared one, or for a test that kills its server).
    init(privateNamed name: String, arguments: [String] = []) throws {
        guard let mariadbd = findExecutable("mariadbd"), let installer = findExecutable("mariadb-install-db") else {
            throw HarnessError("mariadbd is not installed (apt-get install mariadb-server)")
        }
        let directory = try makeTemporaryDirectory("wm-mariadb-\(name)")
        self.directory = directory
        // A temporary folder of its own: servers (and installers) started side by side by parallel suites
        // otherwise share the system's, where one removed the other's internal temporary tables.
        guard mkdir("\(directory)/tmp", 0o700) == 0 else { throw HarnessError("cannot make \(directory)/tmp") }
        let installPid = try spawn(
            installer,
            [
                "--no-defaults", "--datadir=\(directory)/data", "--auth-root-authentication-method=normal", "--skip-test-db",
                "--tmpdir=\(directory)/tmp",
            ],
            environment: [:],
            output: "\(directory)/install.log"
        )
        guard reap(installPid, seconds: 120) == 0 else {
            throw HarnessError("mariadb-install-db failed: \(readFile("\(directory)/install.log") ?? "")")
        }
        let port = try freePort()
        launch = [mariadbd] + [
                "--no-defaults", "--datadir=\(directory)/data", "--tmpdir=\(directory)/tmp", "--port=\(port)", "--bind-address=127.0.0.1",
                "--socket=\(directory)/sock", "--pid-file=\(directory)/pid", "--user=root", "--skip-log-bin",
                "--innodb-buffer-pool-size=32M", "--max-allowed-packet=64M", "--init-file=\(Self.initFile)",
                "--log-error=\(directory)/server.log",
            ] + arguments
        url = "mysql://wm:secret@127.0.0.1:\(port)/wmtest"
        try launchServer(port: port)
    }

    /// Starts mariadbd on the data directory (again, after `crash`), and waits until it serves.
    func launchServer(port: Int? = nil) throws {
        guard let directory, let executable = launch.first else { return }
        let port = port ?? configuration.port
        let logged = (readFile("\(directory)/server.log") ?? "").count
        let pid = try spawn(executable, Array(launch.dropFirst()), environment: [:], output: "\(directory)/stdout.log")
        self.pid = pid
        do {
            // "ready for connections" is logged after the init file ran.
            try waitUntil("mariadbd on port \(port)", seconds: 60) {
                guard isAlive(pid) else { throw HarnessError("mariadbd exited: \(readFile("\(directory)/server.log") ?? "")") }
                return isListening(port) && (readFile("\(directory)/server.log") ?? "").dropFirst(logged).contains("ready for connections")
            }
        } catch {
            stop()
            throw error
        }
    }

    var socketPath: String? { directory.map { "\($0)/sock" } }

    /// Stops a private server (SIGTERM, then SIGKILL past 20 s) and removes its data.
    func stop() {
        if let pid {
            kill(pid, SIGTERM)
            reap(pid, seconds: 20)
        }
        if let directory { removeDirectory(directory) }
    }

    /// Kills a private server at once (the "server dies mid-query" tests).
    func crash() {
        guard let pid else { return }
        ChildProcess.killAndReap(pid)
        self.pid = nil
    }

    static let initFile: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path + "/Fixtures/mysql/init.sql"
    }()

    private static func stopAtExit(_ server: MariaDBServer) {
        exitPid = server.pid ?? 0
        exitDirectory = server.directory ?? ""
        atexit {
            guard exitPid > 0 else { return }
            kill(exitPid, SIGTERM)
            ChildProcess.waitForExit(exitPid, seconds: 20)
            TestFiles.removeTree(exitDirectory)
        }
    }
}

// Written once, inside `MariaDBServer.shared`'s one-time initialisation (swift_once orders it before any
// reader), and read only by the atexit handler, after the tests.
nonisolated(unsafe) private var exitPid: pid_t = 0
nonisolated(unsafe) private var exitDirectory = ""  // safe: as exitPid above, written once before any reader

/// A table name no other test (or earlier run against a shared server) uses.
func uniqueTable(_ stem: String) -> String {
    "\(stem)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
}
