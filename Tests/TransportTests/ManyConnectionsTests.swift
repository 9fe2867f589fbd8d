// 1,000 concurrent connections in one loop: clients and server in the same loop, all open at once, each
// echoes once, then all close.
//
// It runs in a child process (an exit test): 2,000 descriptors in this process would push the descriptor
// numbers of tests running in parallel past FD_SETSIZE, where the select backend refuses them, and raising
// RLIMIT_NOFILE is process-wide. For the same reason it runs on epoll only: select cannot watch descriptors
// numbered 1024 and above.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Many connections")
struct ManyConnectionsTests {
    @Test func aThousandConcurrentConnectionsEchoAndClose() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            exitIfAnyFailed(ManyConnectionsTests.runThousandConnections())
        }
        recordChildErrors(result)
    }

    /// The body of the test, in the child: returns what went wrong.
    static func runThousandConnections() -> [String] {
        let total = 1000
        // Pending connects at most, so a small accept backlog (somaxconn 128 on old kernels) never overflows.
        let window = 100
        var failures: [String] = []
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition { failures.append(message()) }
        }

        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        getrlimit(resource, &limit)
        if limit.rlim_cur < rlim_t(3 * total) {
            limit.rlim_cur = min(limit.rlim_max, rlim_t(4 * total))
            setrlimit(resource, &limit)
        }
        getrlimit(resource, &limit)
        guard limit.rlim_cur >= rlim_t(2 * total + 100) else {
            return ["RLIMIT_NOFILE is \(limit.rlim_cur) (hard \(limit.rlim_max)): too low for \(total) connections"]
        }

        do {
            let loop = try EventLoop(backend: .epoll)
            let context = TransportContext.of(loop)
            loop.errorHandler = { error in failures.append("loop error: \(error)") }
            let server = try TCPServer<LineCodec>(loop: loop, address: "tcp://127.0.0.1:0")
            var clients: [TCPClient<LineCodec>] = []
            var started = 0
            var accepted = 0
            var echoed = 0
            var serverCloses = 0
            var clientCloses = 0
            var peakOpen = 0
            var guardFired = false

            func startClient(port: Int) throws {
                let index = started
                started += 1
                let client = try TCPClient<LineCodec>(loop: loop, url: "tcp://127.0.0.1:\(port)")
                client.onConnect = { client in client.send("hello \(index)") }
                client.onMessage = { _, line in
                    check(line == "hello \(index)", "client \(index) got \(line)")
                    echoed += 1
                    guard echoed == total else { return }
                    // Everyone has had an answer, and no one has closed yet.
                    peakOpen = context.statistics.connections
                    check(server.connections.count == total, "server holds \(server.connections.count)")
                    for client in clients { client.close() }
                }
                client.onError = { _, error in failures.append("client \(index): \(error)") }
                client.onClose = { _ in clientCloses += 1 }
                clients.append(client)
                client.connect()
            }

            // Unowned: the server holds this closure, which would otherwise hold the server for ever.
            server.onConnect = { [unowned server] _ in
                accepted += 1
                if started < total { try startClient(port: server.listener!.address.port) }
            }
            server.onMessage = { connection, line in connection.send(line) }
            server.onClose = { _ in
                serverCloses += 1
                if serverCloses == total { loop.stop() }
            }
            try server.start()
            let port = server.listener!.address.port
            for _ in 0..<window { try startClient(port: port) }
            let guardTimer = try loop.addTimer(after: 30) {
                guardFired = true
                loop.stop()
            }
            try loop.run()
            loop.cancelTimer(guardTimer)

            check(!guardFired, "timed out: started \(started), accepted \(accepted), echoed \(echoed), closed \(serverCloses)/\(clientCloses)")
            check(accepted == total, "accepted \(accepted)")
            check(echoed == total, "echoed \(echoed)")
            check(peakOpen == 2 * total, "open sockets at the peak: \(peakOpen)")
            check(clientCloses == total && serverCloses == total, "closes \(clientCloses) / \(serverCloses)")
            check(context.statistics.connections == 0, "still open: \(context.statistics.connections)")
            check(context.statistics.totalRequest == 2 * total, "total_request \(context.statistics.totalRequest)")
            server.stop()
            check(loop.watchedCount == 0, "still watched: \(loop.watchedCount)")
            loop.close()
            // The clients' callbacks capture this array (and the server): emptied, or they keep each other alive.
            clients.removeAll()
        } catch {
            failures.append("\(error)")
        }
        return failures
    }
}
