// The program the component process tests start: one scenario per run, chosen and configured by the
// environment, so each test gets its own ports, files and process counts.
//
//   WM_TEST_DIR        required: pid, log and output files go here
//   WM_SCENARIO        globaldata | channel | queue | filemonitor
//   WM_GD_PORT         GlobalData server port (globaldata)
//   WM_CHANNEL_PORT    Channel server port (channel, queue); with WM_REDIS set, no Channel server runs
//   WM_REDIS           host:port of Redis: the Channel backend instead of the server
//   WM_COUNT           worker processes (default 2)
//   WM_ITERATIONS      increments per process (globaldata, default 10000)
//   WM_WATCH_DIR       directory the FileMonitor watches (filemonitor)
//
// Output files (one line per record, appended with O_APPEND so lines never interleave):
//   done-<id>          globaldata: a worker finished (`<increments> <cas retries>`)
//   news-<pid>         channel: each "news" event received
//   jobs-<pid>         queue: each job taken
//   channel-server.pid the Channel server's pid (for the reconnect test to kill)
import Workerman

#if canImport(Glibc)
import Glibc
#endif

func environment(_ key: String) -> String? { getenv(key).map { String(cString: $0) } }

let directory = environment("WM_TEST_DIR") ?? ""
if directory.isEmpty {
    ComponentLog.standardError("set WM_TEST_DIR")
    exit(2)
}
var settings = Worker.settings
settings.pidFile = "\(directory)/server.pid"
settings.logFile = "\(directory)/server.log"
settings.stdoutFile = "\(directory)/stdout.log"
settings.stopTimeout = 2
settings.gracefulStopTimeout = 5
Worker.settings = settings

let count = Int(environment("WM_COUNT") ?? "") ?? 2

/// Appends one line to a file of the test directory.
func record(_ file: String, _ line: String) {
    let fd = open("\(directory)/\(file)", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}


// MARK: - GlobalData: two processes share counters under contention

func globalDataScenario() {
    let address = "127.0.0.1:\(environment("WM_GD_PORT") ?? "2207")"
    _ = try! GlobalDataServer(address)
    let iterations = Int(environment("WM_ITERATIONS") ?? "") ?? 10_000
    let counter = Worker()
    counter.name = "counter"
    counter.count = count
    counter.onWorkerStart = { worker in
        let client = try GlobalDataClient(loop: worker.loop!, servers: [address])
        if worker.id % 2 == 1 {
            // The blocking form, in the odd processes: it contends with the async one of the others.
            try runBlocking(client.blocking, iterations: iterations, id: worker.id)
        } else {
            AsyncCounter(client: client, iterations: iterations, id: worker.id).start()
        }
    }
}

func runBlocking(_ client: GlobalDataBlockingClient, iterations: Int, id: Int) throws {
    try client.add("inc", 0)
    try client.add("cas", 0)
    for _ in 0..<iterations { try client.increment("inc") }
    var retries = 0
    for _ in 0..<iterations {
        while true {
            let old = try client.get("cas")
            if try client.cas("cas", expected: old, new: .int((old.intValue ?? 0) + 1)) { break }
            retries += 1
        }
    }
    record("done-\(id)", "\(iterations) \(retries)")
}

/// Increments with a window of calls in flight, then compare-and-swap increments in several chains.
final class AsyncCounter {
    let client: GlobalDataClient
    let iterations: Int
    let id: Int
    var incrementsSent = 0
    var incrementsDone = 0
    var casDone = 0
    var casRetries = 0
    var casStarted = 0

    init(client: GlobalDataClient, iterations: Int, id: Int) {
        self.client = client
        self.iterations = iterations
        self.id = id
    }

    func start() {
        client.add("inc", 0)
        client.add("cas", 0)
        for _ in 0..<16 { nextIncrement() }
    }

    func nextIncrement() {
        guard incrementsSent < iterations else { return }
        incrementsSent += 1
        client.increment("inc") { result in
            _ = try result.get()
            self.incrementsDone += 1
            if self.incrementsDone == self.iterations {
                for _ in 0..<4 { self.nextCas() }
            } else {
                self.nextIncrement()
            }
        }
    }

    func nextCas() {
        guard casStarted < iterations else { return }
        casStarted += 1
        attemptCas()
    }

    func attemptCas() {
        client.get("cas") { result in
            let old = try result.get()
            self.client.cas("cas", expected: old, new: .int((old.intValue ?? 0) + 1)) { swapped in
                if try swapped.get() {
                    self.casDone += 1
                    if self.casDone == self.iterations {
                        record("done-\(self.id)", "\(self.iterations) \(self.casRetries)")
                    } else {
                        self.nextCas()
                    }
                } else {
                    self.casRetries += 1
                    self.attemptCas()
                }
            }
        }
    }
}

// MARK: - Channel: subscribers (or queue consumers) in several processes

func channelScenario(queue: Bool) {
    let address = "127.0.0.1:\(environment("WM_CHANNEL_PORT") ?? "2206")"
    let backend: ChannelBackendKind
    if let redis = environment("WM_REDIS") {
        backend = .redis(redis, prefix: environment("WM_REDIS_PREFIX") ?? "wmtest:")
    } else {
        backend = .server(address)
        let server = try! ChannelServer(address)
        server.worker.onWorkerStart = { _ in
            // Written under a temporary name and renamed, so the test never reads half a pid.
            record("channel-server.pid.\(getpid())", "\(getpid())")
            rename("\(directory)/channel-server.pid.\(getpid())", "\(directory)/channel-server.pid")
        }
    }
    let worker = Worker()
    worker.name = queue ? "consumer" : "subscriber"
    worker.count = count
    worker.onWorkerStart = { worker in
        let channel = ChannelClient(loop: worker.loop!, configuration: .init(backend: backend))
        let pid = getpid()
        if queue {
            channel.watch("jobs") { job in record("jobs-\(pid)", job.stringValue ?? "?") }
        } else {
            channel.on("news") { data in record("news-\(pid)", data.stringValue ?? "?") }
        }
        // Readiness probe: answered on the same connection that carries the subscription (or watch), so an
        // answer proves the broker has processed it.
        channel.on("control") { data in
            if data.stringValue == "probe" { channel.publish("ready", .int(Int(pid))) }
        }
        channel.onConnect = { record("connects-\(pid)", "connected") }
    }
}

// MARK: - FileMonitor: a burst of writes makes one reload

func fileMonitorScenario() {
    let monitor = FileMonitor(paths: [environment("WM_WATCH_DIR") ?? directory + "/watched"])
    monitor.debounce = 0.3
    if environment("WM_POLLING") == "1" {
        monitor.method = .polling
        monitor.pollInterval = 0.2
    }
    let echo = try! Worker(tcp: "127.0.0.1:0")
    echo.name = "echo"
    echo.count = count
    echo.onMessage = { connection, bytes in connection.send(bytes) }
}

// MARK: - Run

switch environment("WM_SCENARIO") ?? "" {
case "globaldata": globalDataScenario()
case "channel": channelScenario(queue: false)
case "queue": channelScenario(queue: true)
case "filemonitor": fileMonitorScenario()
default:
    ComponentLog.standardError("unknown WM_SCENARIO")
    exit(2)
}
Worker.runAll()
