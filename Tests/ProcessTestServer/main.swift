// A small server the process tests start as a real program: a raw TCP echo worker whose messages
// also steer it ("pid" answers the serving pid, "slow" answers after a delay, "stuck" never returns),
// configured from the environment so each test gets its own files and port.
//
//   WM_TEST_DIR          required: pid, log and stdout files go here; onWorkerStart writes the bound port
//                        into WM_TEST_DIR/port
//   WM_PORT              the echo worker's port (default 0: any free port, bound by the master)
//   WM_COUNT             echo processes (default 2)
//   WM_STOP_TIMEOUT      settings.stopTimeout (default 2)
//   WM_GRACEFUL_TIMEOUT  settings.gracefulStopTimeout (default 10)
//   WM_DRAIN_GRACE       settings.keepAliveDrainGrace (default 1)
//   WM_METRICS           settings.metricsAddress (the master logs the port it bound)
//   WM_UPGRADE_TIMEOUT   settings.upgradeTimeout (default 20)
//   WM_SLOW_SECONDS      how long "slow" takes (default 1)
//   WM_PID_FILE          overrides the pid file path (for the unwritable-path tests)
//   WM_LOG_FILE          overrides the log file path
//   WM_STDOUT_FILE       overrides the daemon's stdout file path
//   WM_REUSE_PORT=1      the echo worker binds one SO_REUSEPORT socket per process (give WM_PORT)
//   WM_USER, WM_GROUP    the echo worker's processes run as this user and group
//   WM_TICKER_RELOADABLE=0  the ticker is not reloadable (a reload only runs its onWorkerReload)
//   WM_TEST_DIR/slow-start  while it exists, a new worker process waits a second before runAll()
//   onWorkerReload of both workers appends a line to WM_TEST_DIR/reloaded.<name>.<pid>
//   WM_DAEMONIZE=1       settings.daemonize (a plain `start` then detaches too)
//   WM_FAIL_START=1      the echo worker's onWorkerStart throws (the back-off test)
//   WM_THREADS=1         a pthread, a Task and a Dispatch block are started before runAll()
//   WM_TEST_PID          the test process: once it is gone (a runner killed it), the server stops itself
//   WM_BAD_WORKER=1      a Worker whose construction throws (udp:// on a stream worker) is made first and
//                        its error ignored: it must not join the process plan
//   WM_WEB=1             adds an HTTP worker "web" (one process, port 0, written to WM_TEST_DIR/webport):
//                        GET / answers "page", /ws upgrades to a WebSocket that echoes
//   WM_WEB_PORT          the web worker's port (default 0)
//   WM_WEB_MAX_CONNECTIONS, WM_WEB_IDLE_TIMEOUT, WM_WEB_503=1   the web worker's limits (answersOverLimit)
//   WM_WEB_MAX_REQUESTS, WM_WEB_MAX_MEMORY   the web worker's recycling; GET /grow leaks 64 MiB on purpose
import Dispatch
import Workerman

#if canImport(Glibc)
import Glibc
#endif

func environment(_ key: String) -> String? { getenv(key).map { String(cString: $0) } }

struct StartFailure: Error, CustomStringConvertible {
    var description: String { "WM_FAIL_START is set" }
}

guard let directory = environment("WM_TEST_DIR") else {
    say("set WM_TEST_DIR")
    exit(2)
}
var settings = Worker.settings
settings.pidFile = environment("WM_PID_FILE") ?? "\(directory)/server.pid"
settings.logFile = environment("WM_LOG_FILE") ?? "\(directory)/server.log"
settings.stdoutFile = environment("WM_STDOUT_FILE") ?? "\(directory)/stdout.log"
settings.stopTimeout = Double(environment("WM_STOP_TIMEOUT") ?? "") ?? 2
settings.gracefulStopTimeout = Double(environment("WM_GRACEFUL_TIMEOUT") ?? "") ?? 10
settings.daemonize = environment("WM_DAEMONIZE") == "1"
settings.keepAliveDrainGrace = Double(environment("WM_DRAIN_GRACE") ?? "") ?? 1
settings.metricsAddress = environment("WM_METRICS")
settings.upgradeTimeout = Double(environment("WM_UPGRADE_TIMEOUT") ?? "") ?? 20
Worker.settings = settings

let failStart = environment("WM_FAIL_START") == "1"
if environment("WM_BAD_WORKER") == "1" {
    _ = try? Worker<RawCodec>("udp://127.0.0.1:0")
}
let echo = try Worker(tcp: "127.0.0.1:\(environment("WM_PORT") ?? "0")")
echo.name = "echo"
echo.count = Int(environment("WM_COUNT") ?? "") ?? 2
echo.reusePort = environment("WM_REUSE_PORT") == "1"
echo.user = environment("WM_USER")
echo.group = environment("WM_GROUP")
echo.onWorkerReload = { worker in noteReload(worker.name) }
echo.onWorkerStart = { worker in
    if failStart { throw StartFailure() }
    // Port 0 is bound by the master and inherited: tell the test which port it got (written to a temporary
    // name and renamed, so the test never reads half a number).
    if let port = worker.server?.listener?.address.port { publish("\(port)\n", as: "port") }
}
echo.onMessage = { connection, bytes in
    let text = bytes.string
    if text.hasPrefix("pid") {
        connection.send(ByteBuffer("\(getpid())\n"))
    } else if text.hasPrefix("slow") {
        let loop = connection.loop
        try loop.addTimer(after: Double(environment("WM_SLOW_SECONDS") ?? "") ?? 1) {
            connection.send(ByteBuffer("done\n"))
        }
    } else if text.hasPrefix("stuck") {
        while true { usleep(1000) }  // a worker stuck in a callback, for the status test
    } else {
        connection.send(bytes)
    }
}

let ticker = Worker()
ticker.name = "ticker"
ticker.reloadable = environment("WM_TICKER_RELOADABLE") != "0"
ticker.onWorkerReload = { worker in noteReload(worker.name) }
let testPID = environment("WM_TEST_PID").flatMap { pid_t($0) }
ticker.onWorkerStart = { worker in
    try worker.loop?.addTimer(every: 3600) {}
    // A safety net, not a test: a daemon outlives a test process that was killed before its cleanup ran,
    // so the ticker stops its master once the test process is gone.
    if let testPID {
        try worker.loop?.addTimer(every: 0.5) {
            if kill(testPID, 0) != 0 && errno == ESRCH { kill(getppid(), SIGINT) }
        }
    }
}

/// Blocks `/grow` allocated and never frees.
nonisolated(unsafe) var leaked: [UnsafeMutableRawPointer] = []  // safe: touched only on the web process's loop thread

if environment("WM_WEB") == "1" {
    let web = try Worker(http: "127.0.0.1:\(environment("WM_WEB_PORT") ?? "0")")
    web.name = "web"
    web.maxConnections = environment("WM_WEB_MAX_CONNECTIONS").flatMap { Int($0) }
    web.idleTimeout = environment("WM_WEB_IDLE_TIMEOUT").flatMap { Double($0) }
    web.answersOverLimit = environment("WM_WEB_503") == "1"
    web.maxRequests = environment("WM_WEB_MAX_REQUESTS").flatMap { Int($0) }
    web.maxMemory = environment("WM_WEB_MAX_MEMORY").flatMap { Int($0) }
    web.onWorkerStart = { worker in
        guard let port = worker.server?.listener?.address.port else { return }
        publish("\(port)\n", as: "webport")
    }
    web.onMessage = { connection, request in
        if request.path == "/ws", request.isWebSocketUpgrade {
            guard let ws = connection.upgradeToWebSocket(request) else { return }
            ws.onMessage = { ws, message in ws.send(message) }
            return
        }
        if request.path == "/grow" {
            // A leak on purpose (the maxMemory test): 64 MiB, touched so it is resident.
            let block = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 4096)
            memset(block, 1, 64 << 20)
            leaked.append(block)
        }
        connection.send("page")
    }
}

if environment("WM_ASYNC") == "1" { addAsyncWorker() }

/// `WM_ASYNC=1`: a `text://` worker (one process) whose handler is async: `stuck` awaits a completion
/// nobody completes (a handler stuck on an `await`, for the status test), `slow` answers `done` after three
/// seconds on the loop's timers, anything else is echoed. A function, not top-level code: a closure at
/// the top level of main.swift would be isolated to the main actor, which never runs in a worker process.
nonisolated func addAsyncWorker() {
    guard let worker = try? Worker<TextCodec>("text://127.0.0.1:0") else { fatalError("async worker") }
    worker.name = "async"
    worker.onWorkerStart = { worker in
        guard let port = worker.server?.listener?.address.port else { return }
        publish("\(port)\n", as: "asyncport")
    }
    worker.onMessageAsync = { connection, line in
        let loop = connection.loop
        switch line {
        case "stuck":
            try await loop.withCompletion { (_: LoopCompletion<Void>) in }
        case "slow":
            try await loop.sleep(for: .seconds(3))
            connection.send("done")
        default:
            connection.send(line)
        }
    }
}

if environment("WM_THREADS") == "1" { startBackgroundThreads() }
// A worker process started while WM_TEST_DIR/slow-start exists spends a second here, before runAll(): the
// window in which a signal used to kill a starting child.
if environment("WORKERMAN_ROLE") == "worker", access("\(directory)/slow-start", F_OK) == 0 { usleep(1_000_000) }

Worker.runAll()

/// Writes `text` to WM_TEST_DIR/`name` through a temporary name, so the test never reads half of it.
func publish(_ text: String, as name: String) {
    let temporary = "\(directory)/\(name).\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    rename(temporary, "\(directory)/\(name)")
}

/// One line per reload this process saw, in `reloaded.<worker>.<pid>`: the test counts them.
func noteReload(_ name: String) {
    let fd = open("\(directory)/reloaded.\(name).\(getpid())", O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard fd >= 0 else { return }
    _ = "reload\n".withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// Threads that exist before runAll(): children must still start and serve. The
/// pthread takes and releases a lock and allocates in a loop, the state a bare fork() would copy held.
/// A plain function, so the closures are not main-actor isolated like top-level code.
func startBackgroundThreads() {
    var thread = pthread_t()
    _ = pthread_create(&thread, nil, { _ in
        var lock = pthread_mutex_t()
        pthread_mutex_init(&lock, nil)
        while true {
            pthread_mutex_lock(&lock)
            free(malloc(64))
            pthread_mutex_unlock(&lock)
            usleep(5_000)
        }
    }, nil)
    Task.detached {
        while true { try? await Task.sleep(nanoseconds: 5_000_000) }
    }
    DispatchQueue.global().async {
        while true { usleep(5_000) }
    }
}
