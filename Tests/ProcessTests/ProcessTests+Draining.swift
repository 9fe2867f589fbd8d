// A reload or graceful stop that no HTTP client notices: draining keep-alive connections answer their
// next request with `Connection: close` instead of closing while the client's request is on the wire.

import Synchronization
import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

extension TestServer {
    /// The HTTP worker's port (`WM_WEB=1`), once its process wrote it.
    func webPort() async throws -> UInt16 {
        var port: UInt16 = 0
        try await waitUntil("the web port file") {
            port = readFile("\(directory)/webport").flatMap { UInt16($0.filter(\.isNumber)) } ?? 0
            return port != 0
        }
        return port
    }

    /// The running process of the HTTP worker (worker index 2 with `WM_WEB=1`).
    func webChild() -> pid_t? { runningChildren().first { $0.worker == 2 }?.pid }
}

let hasWrk = access("/usr/bin/wrk", X_OK) == 0 || access("/usr/local/bin/wrk", X_OK) == 0

extension ProcessTests {
    @Test func reloadUnderKeepAliveLoadFailsNoRequest() async throws {
        try await withTestServer(["WM_WEB": "1"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let before = try #require(server.webChild())
            let (load, threads) = try KeepAliveLoad.start(port: port, connections: 8)
            defer {
                load.stop.store(true, ordering: .relaxed)
                for thread in threads { thread.join() }
            }
            try await waitUntil("load to run", seconds: 10) { load.answered.load(ordering: .relaxed) >= 200 }

            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            try await waitUntil("the web process replaced", seconds: 10) {
                server.webChild().map { $0 != before } == true && server.log.contains("reload done")
            }
            let mark = load.answered.load(ordering: .relaxed)
            try await waitUntil("load on the new process", seconds: 10) { load.answered.load(ordering: .relaxed) >= mark + 200 }
            load.stop.store(true, ordering: .relaxed)
            for thread in threads { thread.join() }

            #expect(load.failureList.isEmpty, "\(load.failureList.prefix(10))")
            #expect(load.refused.load(ordering: .relaxed) == 0)
            // Every connection open at the reload was told to close, on an answer.
            #expect(load.closeAnswers.load(ordering: .relaxed) >= 8)
            #expect(!isAlive(before))
            #expect(!server.log.contains("remaining connection"), "\(server.log)")
        }
    }

    @Test func drainingAnswersTheNextRequestAndClosesOnlyAfterTheGrace() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_DRAIN_GRACE": "5", "WM_STOP_TIMEOUT": "14"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let web = try #require(server.webChild())
            let idle = try Client(port: port, timeout: 8)
            let busy = try Client(port: port, timeout: 8)
            for client in [idle, busy] {
                try client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                _ = try client.read(until: KeepAliveLoad.isCompleteResponse)
            }

            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            try await waitUntil("the web process to drain", seconds: 5) { server.slotState(of: web) == SlotRecord.stopping }
            // Its next request is answered, and told the connection ends.
            try busy.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let answer = try busy.read(until: KeepAliveLoad.isCompleteResponse)
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(answer.lowercased().contains("\r\nconnection: close\r\n"), "\(answer)")
            #expect(throws: ClientError.self) { _ = try busy.read { _ in false } }

            // The idle one is still open after that exchange (the grace is far longer than it takes: an
            // order, not a timing), then is closed without a byte once the grace is over.
            var entry = pollfd(fd: idle.fd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&entry, 1, 0) == 0, "the idle connection was closed before the grace")
            try await idle.waitUntilReadable(seconds: 12)
            do {
                _ = try idle.read { _ in false }
            } catch let error as ClientError {
                #expect(error.kind == .closed && error.received == 0, "\(error)")
            }
            try await waitUntil("the web process replaced", seconds: 10) { server.webChild().map { $0 != web } == true }
        }
    }

    @Test func gracefulStopUnderKeepAliveLoadAnswersEveryRequest() async throws {
        try await withTestServer(["WM_WEB": "1"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let (load, threads) = try KeepAliveLoad.start(port: port, connections: 8, endOnRefusal: true)
            defer {
                load.stop.store(true, ordering: .relaxed)
                for thread in threads { thread.join() }
            }
            try await waitUntil("load to run", seconds: 10) { load.answered.load(ordering: .relaxed) >= 200 }

            let stop = try await server.run(["stop", "-g"])
            #expect(stop.status == 0, "\(stop)")
            // Keep-alive connections do not hold the stop for its graceful timeout (10 s here).
            #expect(stop.seconds < 6, "\(stop)")
            for thread in threads { thread.join() }
            // Each client ended at a refused connect after the server left: no answer was cut off.
            #expect(load.failureList.isEmpty, "\(load.failureList.prefix(10))")
            #expect(load.closeAnswers.load(ordering: .relaxed) >= 8)
            #expect(!server.log.contains("remaining connection"), "\(server.log)")
        }
    }

    @Test(.enabled(if: hasWrk, "wrk is not installed (apt-get install wrk)"))
    func wrkSeesNoSocketErrorDuringAReload() async throws {
        try await withTestServer(["WM_WEB": "1"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let output = "\(server.directory)/wrk.out"
            let wrk = try spawnProgram(
                "wrk", ["-t1", "-c50", "-d4s", "http://127.0.0.1:\(port)/"],
                environment: [:], output: output, errors: output + ".err", searchPath: true
            )
            server.track(wrk)
            try await waitUntil("wrk to load the server", seconds: 10) { server.totalRequests() >= 500 }
            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            let status = await waitForExit(wrk, seconds: 20)
            let report = readFile(output) ?? ""
            #expect(status == 0, "\(report)")
            #expect(report.contains("requests in"), "\(report)")
            #expect(!report.contains("Socket errors"), "\(report)")
            #expect(!report.contains("Non-2xx"), "\(report)")
            #expect(server.log.contains("reload done"), "\(server.log)")
        }
    }
}
