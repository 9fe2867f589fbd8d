// Async handlers in a real worker process: `status` shows a handler stuck on an `await` (how many tasks are
// in flight, which callback started the oldest, for which connection, since when) while the process keeps
// serving; stop cancels it at once; a reload waits for a handler still in flight before it closes the
// connection.

import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

extension TestServer {
    /// The async worker's port (`WM_ASYNC=1`), once its process wrote it.
    func asyncPort() async throws -> UInt16 {
        var port: UInt16 = 0
        try await waitUntil("the async port file") {
            port = readFile("\(directory)/asyncport").flatMap { UInt16($0.filter(\.isNumber)) } ?? 0
            return port != 0
        }
        return port
    }
}

extension ProcessTests {
    @Test func aHandlerStuckOnAnAwaitShowsInStatusWithItsCallbackAndAge() async throws {
        try await withTestServer(["WM_ASYNC": "1", "WM_STOP_TIMEOUT": "2"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.asyncPort()
            let stuck = try Client(port: port)
            #expect(try stuck.echo("hello\n") == "hello\n")
            try stuck.send("stuck\n")

            var row: [String: String]?
            try await waitUntil("status to show the stuck task", seconds: 8) {
                row = try await server.status().rows(worker: "async").first
                return row?["state"]?.hasPrefix("[tasks 1] oldest") == true
            }
            // `[tasks 1] oldest onMessage conn N for X s`
            let state = try #require(row?["state"]).split(separator: " ").map(String.init)
            #expect(state.count == 9, "\(state)")
            #expect(Array(state.prefix(5)) == ["[tasks", "1]", "oldest", "onMessage", "conn"], "\(state)")
            #expect(Int(state[5]).map { $0 >= 1 } == true, "\(state)")
            #expect(state[6] == "for" && state[8] == "s", "\(state)")
            #expect(Double(state[7]).map { $0 >= 1.0 && $0 < 60 } == true, "\(state)")

            // The loop is not blocked: another connection to the same process is answered meanwhile, and
            // its finished exchange is not counted in flight.
            let other = try Client(port: port)
            #expect(try other.echo("ping\n") == "ping\n")
            let later = try await server.status().rows(worker: "async").first?["state"] ?? ""
            #expect(later.hasPrefix("[tasks 1] oldest onMessage"), "\(later)")

            // Stop closes the connection, which cancels the stuck task: the process ends well inside its
            // timeout, without being killed.
            let stop = try await server.run(["stop"], seconds: 10)
            #expect(stop.status == 0, "\(stop)")
            try await waitUntil("every process to be gone", seconds: 5) { server.livingProcesses().isEmpty }
            #expect(!server.log.contains("did not stop in"), "\(server.log)")
        }
    }

    @Test func aReloadWaitsForAnAsyncHandlerInFlight() async throws {
        try await withTestServer(["WM_ASYNC": "1", "WM_STOP_TIMEOUT": "10"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.asyncPort()
            let client = try Client(port: port, timeout: 10)
            #expect(try client.echo("hello\n") == "hello\n")
            try client.send("slow\n")
            try await waitUntil("the slow handler in flight", seconds: 5) {
                try await server.status().rows(worker: "async").first?["state"]?.contains("task") == true
            }
            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            // The handler finishes (three seconds after it started) and answers; only then is the connection
            // closed, as the reloading process drains it (a plain reload waits up to the stop timeout, 10 s
            // here, then closes what is left).
            #expect(try client.readLine() == "done")
            #expect(throws: ClientError.self) { try client.readLine() }
            #expect(!server.log.contains("remaining connection"), "\(server.log)")
        }
    }
}
