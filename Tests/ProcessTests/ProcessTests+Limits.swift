// Connection limits of an HTTP worker in a real process: twice the allowed connections either wait and
// are served in turn, or are answered 503; the idle timeout closes a forgotten keep-alive connection; a
// limit of 0 fails the start with the setting's name.

import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    /// Sends GET / on `client` and reads the whole answer.
    func get(_ client: Client) throws -> String {
        try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        return try client.read(until: KeepAliveLoad.isCompleteResponse)
    }

    @Test func twiceMaxConnectionsWaitAndAreServedInTurn() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_WEB_MAX_CONNECTIONS": "2"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let admitted = try (0..<2).map { _ in try Client(port: port) }
            for client in admitted { #expect(try get(client).hasPrefix("HTTP/1.1 200")) }
            // Two more: connected by the kernel, but not accepted while the first two stay.
            let waiting = try (0..<2).map { _ in try Client(port: port, timeout: 8) }
            for client in waiting { try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n") }
            var pending = waiting.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            #expect(poll(&pending, 2, 300) == 0, "a connection over the limit was served")
            // The admitted ones are still served meanwhile.
            for client in admitted { #expect(try get(client).hasPrefix("HTTP/1.1 200")) }
            for client in admitted { client.close() }
            for client in waiting {
                try await client.waitUntilReadable(seconds: 5)
                #expect(try client.read(until: KeepAliveLoad.isCompleteResponse).hasPrefix("HTTP/1.1 200"))
            }
            let status = try await server.run(["status"])
            #expect(status.output.contains("Limits: "), "\(status)")
        }
    }

    @Test func overTheLimitAnHTTPWorkerCanAnswer503() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_WEB_MAX_CONNECTIONS": "2", "WM_WEB_503": "1"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let admitted = try (0..<2).map { _ in try Client(port: port) }
            for client in admitted { #expect(try get(client).hasPrefix("HTTP/1.1 200")) }
            for _ in 0..<2 {
                let extra = try Client(port: port)
                let answer = try get(extra)
                #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
                #expect(answer.contains("Connection: close"), "\(answer)")
            }
            for client in admitted { #expect(try get(client).hasPrefix("HTTP/1.1 200")) }
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_WEB_IDLE_TIMEOUT": "0.5"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let client = try Client(port: port)
            #expect(try get(client).hasPrefix("HTTP/1.1 200"))
            let since = monotonicSeconds()
            try await client.waitUntilReadable(seconds: 5)
            #expect(monotonicSeconds() - since >= 0.4)
            #expect(throws: ClientError.self) { _ = try client.read { _ in false } }
        }
    }

    @Test func aLimitOfZeroFailsTheStartNamingTheSetting() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_WEB_MAX_CONNECTIONS": "0"]) { server in
            for arguments in [["start"], ["start", "-d"]] {
                let result = try await server.run(arguments)
                #expect(result.status != 0, "\(result)")
                #expect(result.all.contains("maxConnections must be at least 1"), "\(arguments): \(result)")
                #expect(server.livingProcesses().isEmpty)
            }
        }
    }
}
