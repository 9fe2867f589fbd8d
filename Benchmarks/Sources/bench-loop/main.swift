// bench-loop: event-loop micro-benchmarks, ours and SwiftNIO's side by side in one process.
// See Benchmarks/README.md for what each measures; `./run.sh` builds and runs it.
#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import NIOCore
import NIOPosix
import WorkermanEventLoop

func runBenchLoop() throws -> Bool {
    let options = try RunOptions(parsing: Array(CommandLine.arguments.dropFirst()))
    let loop = try EventLoop()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer {
        try? group.syncShutdownGracefully()
        loop.close()
    }
    let ours = OursLoopBenchmarks(loop: loop)
    let nio = NIOLoopBenchmarks(eventLoop: group.next())
    let million = 1_000_000
    let benchmarks = [
        Benchmark(
            name: "timer-fire",
            summary: "schedule N one-shot timers due within 0-4 ms, run until all fired",
            defaultCount: million,
            ours: ours.timerFire,
            peer: nio.timerFire
        ),
        Benchmark(
            name: "timer-cancel",
            summary: "schedule a timer and cancel it at once, N times",
            defaultCount: million,
            ours: ours.timerCancel,
            peer: nio.timerCancel
        ),
        Benchmark(
            name: "cross-thread",
            summary: "another thread sends N jobs (handle.execute / eventLoop.execute), until the loop ran all",
            defaultCount: million,
            ours: { try ours.crossThread(count: $0, deadline: $1, producers: 1) },
            peer: { try nio.crossThread(count: $0, deadline: $1, producers: 1) }
        ),
        Benchmark(
            name: "cross-thread-4",
            summary: "4 other threads send N jobs in all, contending for the loop's queue, until the loop ran all",
            defaultCount: million,
            ours: { try ours.crossThread(count: $0, deadline: $1, producers: 4) },
            peer: { try nio.crossThread(count: $0, deadline: $1, producers: 4) }
        ),
        Benchmark(
            name: "ping-pong",
            summary: "one byte bounced over an AF_UNIX socketpair, N readiness events in all",
            defaultCount: million,
            ours: ours.pingPong,
            peer: nio.pingPong
        ),
    ]
    if options.list {
        for benchmark in benchmarks { print("\(benchmark.name)\t\(benchmark.summary)") }
        return true
    }
    log("bench-loop: \(options.rounds) round(s), ours on \(loop.backend.name) vs SwiftNIO SelectableEventLoop")
    return try Runner(options: options, peerName: "SwiftNIO").run(benchmarks)
}

do {
    exit(try runBenchLoop() ? 0 : 1)
} catch {
    log("bench-loop: \(error)")
    exit(2)
}
