// bench-echo: raw TCP echo throughput, our TCPServer against SwiftNIO's echo with one loop.
//
//   bench-echo [--rounds N] [--connections N] [--size BYTES] [--window N] [--duration SECONDS]
//   bench-echo serve ours|nio PORT          (used by the driver)
//   bench-echo load PORT CONNS SIZE WINDOW DURATION   (used by the driver)
//
// The driver starts each server pinned to CPU 0 and the load generator pinned to CPU 1 (taskset), in
// interleaved rounds, and prints messages per second for each and the median per-round ratio.
import BenchSupport
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())

switch arguments.first {
case "serve":
    guard arguments.count == 3, let port = Int(arguments[2]) else { fatalError("usage: bench-echo serve ours|nio PORT") }
    if arguments[1] == "nio" { try runNIOEchoServer(port: port) } else { try runOurEchoServer(port: port) }
case "load":
    guard arguments.count == 6, let port = Int(arguments[1]), let connections = Int(arguments[2]),
        let size = Int(arguments[3]), let window = Int(arguments[4]), let duration = Double(arguments[5])
    else { fatalError("usage: bench-echo load PORT CONNS SIZE WINDOW DURATION") }
    let load = EchoLoad(connections: connections, size: size, window: window, duration: duration)
    let result = try load.run(port: port)
    print("messages \(result.messages) seconds \(result.seconds)")
default:
    try EchoDriver(arguments: arguments).run()
}
