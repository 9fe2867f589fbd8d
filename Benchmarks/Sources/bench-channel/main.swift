// bench-channel: Channel publish → deliver throughput and latency between two processes, through our
// own Channel server and through Redis, with `redis-benchmark -t publish` on the same machine as the
// ceiling.
//
//   swift build -c release --product bench-channel && .build/release/bench-channel
//   bench-channel --count 200000 --rate 20000 --seconds 3
//
// Three processes per measurement: this one publishes, a subscriber process (this program with the
// `subscribe` role) receives, and the broker (our Channel server, started as this program with the
// `server` role, or a redis-server) sits between. Each message carries its publish time (CLOCK_MONOTONIC,
// the same clock in every process), so the subscriber measures publish → deliver latency itself.
//
// - throughput: `--count` messages published as fast as the connection takes them (the client holds
//   back while its send buffer is full); messages/s from the first publish to the last delivery.
// - latency: `--rate` messages/s for `--seconds`, paced every millisecond; p50/p99/max per message.
import BenchSupport
import Workerman

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Options

struct Options {
    var count = 200_000
    var rate = 20_000
    var seconds = 3.0
    var payload = 64
    var skipRedis = false

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--count": count = iterator.next().flatMap { Int($0) } ?? count
            case "--rate": rate = iterator.next().flatMap { Int($0) } ?? rate
            case "--seconds": seconds = iterator.next().flatMap { Double($0) } ?? seconds
            case "--payload": payload = iterator.next().flatMap { Int($0) } ?? payload
            case "--no-redis": skipRedis = true
            default:
                print("usage: bench-channel [--count N] [--rate MSG_PER_S] [--seconds S] [--payload BYTES] [--no-redis]")
                exit(2)
            }
        }
    }
}

// MARK: - Roles

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "server":
    // The broker: our Channel server as a Workerman program (master + one server process).
    let directory = arguments[2]
    var settings = Worker.settings
    settings.pidFile = "\(directory)/channel.pid"
    settings.logFile = "\(directory)/channel.log"
    Worker.settings = settings
    let server = try ChannelServer("127.0.0.1:\(arguments[1])")
    server.worker.name = "bench-channel-server"
    Worker.runAll(arguments: ["start"])
case "subscribe":
    try Subscriber(backend: backendKind(arguments[1])).run()
    exit(0)
default:
    Orchestrator(options: Options(arguments)).run()
}

func backendKind(_ text: String) -> ChannelBackendKind {
    text.hasPrefix("redis:") ? .redis(String(text.dropFirst(6)), prefix: "bench:") : .server(String(text.dropFirst(7)))
}
