// A small server the process tests start as a real program: a raw TCP echo worker whose messages
// also steer it ("pid" answers the serving pid, "slow" answers after a delay, "stuck" never returns),
// configured from the environment so each test gets its own files and port.
import Workerman

#if canImport(Glibc)
import Glibc
#endif

func environment(_ key: String) -> String? { getenv(key).map { String(cString: $0) } }

guard let directory = environment("WM_TEST_DIR") else {
    say("set WM_TEST_DIR")
    exit(2)
}
var settings = Worker.settings
settings.pidFile = "\(directory)/server.pid"
settings.logFile = "\(directory)/server.log"
settings.stdoutFile = "\(directory)/stdout.log"
settings.stopTimeout = Double(environment("WM_STOP_TIMEOUT") ?? "") ?? 2
settings.gracefulStopTimeout = Double(environment("WM_GRACEFUL_TIMEOUT") ?? "") ?? 10
Worker.settings = settings

let echo = try Worker(tcp: "127.0.0.1:\(environment("WM_PORT") ?? "0")")
echo.name = "echo"
echo.count = Int(environment("WM_COUNT") ?? "") ?? 2
echo.onWorkerStart = { worker in
    // Port 0 is bound by the master and inherited: tell the test which port it got.
    if let port = worker.server?.listener?.address.port {
        let text = "\(port)\n"
        let fd = open("\(directory)/port", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
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
ticker.onWorkerStart = { worker in
    try worker.loop?.addTimer(every: 3600) {}
}

Worker.runAll()

func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
