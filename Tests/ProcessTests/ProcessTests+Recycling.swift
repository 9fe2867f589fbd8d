// Recycling under a bounded keep-alive load: a process past maxRequests, or past maxMemory (it leaks on
// purpose), is replaced, logged and counted, and no request fails.

import Synchronization
import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    @Test func aProcessPastMaxRequestsIsReplacedWithoutAFailedRequest() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_WEB_MAX_REQUESTS": "300", "WM_METRICS": "127.0.0.1:0"]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let first = try #require(server.webChild())
            let (load, threads) = try KeepAliveLoad.start(port: port, connections: 4)
            defer {
                load.stop.store(true, ordering: .relaxed)
                for thread in threads { thread.join() }
            }
            var seen: Set<pid_t> = [first]
            try await waitUntil("two recycles", seconds: 30) {
                if let pid = server.webChild() { seen.insert(pid) }
                return server.logCount("recycled (maxRequests)") >= 2
            }
            let mark = load.answered.load(ordering: .relaxed)
            try await waitUntil("load after the recycles", seconds: 10) { load.answered.load(ordering: .relaxed) >= mark + 50 }
            load.stop.store(true, ordering: .relaxed)
            for thread in threads { thread.join() }
            #expect(load.failureList.isEmpty, "\(load.failureList.prefix(10))")
            #expect(seen.count >= 2)
            #expect(!isAlive(first))
            #expect(server.log.contains("recycling after"), "\(server.log)")
            // The replacement served before the old process was told to drain, and it left only after.
            let log = server.log
            let replaced = try #require(log.firstRange(of: "worker[web:\(first)] recycling (maxRequests): starting its replacement first"), "\(log)")
            let draining = try #require(log.firstRange(of: "worker[web:\(first)] its replacement "), "\(log)")
            let left = try #require(log.firstRange(of: "worker[web:\(first)] recycled (maxRequests)"), "\(log)")
            #expect(replaced.lowerBound < draining.lowerBound && draining.lowerBound < left.lowerBound, "\(log)")
            let successor = pid_t(log[draining.upperBound...].prefix { $0.isNumber }) ?? 0
            #expect(seen.contains(successor) || !isAlive(successor), "the replacement \(successor) was one of the web processes")
            let metrics = try server.scrape(port: try await server.metricsPort())
            #expect(samples("workerman_recycles_total", in: metrics).contains { $0.labels.contains("web") && $0.value >= 2 }, "\(metrics)")
            #expect(samples("workerman_restarts_total", in: metrics).allSatisfy { $0.value == 0 }, "recycling is not a restart: \(metrics)")
        }
    }

    @Test func aProcessPastMaxMemoryIsReplacedWithoutAFailedRequest() async throws {
        try await withTestServer(["WM_WEB": "1", "WM_WEB_MAX_MEMORY": String(96 << 20)]) { server in
            try await server.startDaemon(processes: 4)
            let port = try await server.webPort()
            let first = try #require(server.webChild())
            let (load, threads) = try KeepAliveLoad.start(port: port, connections: 4)
            defer {
                load.stop.store(true, ordering: .relaxed)
                for thread in threads { thread.join() }
            }
            try await waitUntil("load to run", seconds: 10) { load.answered.load(ordering: .relaxed) >= 100 }
            let grower = try Client(port: port)
            for _ in 0..<2 {
                try grower.send("GET /grow HTTP/1.1\r\nHost: t\r\n\r\n")
                _ = try grower.read(until: KeepAliveLoad.isCompleteResponse)
            }
            try await waitUntil("the leaking process replaced", seconds: 15) {
                server.webChild().map { $0 != first } == true && server.log.contains("recycled (maxMemory)")
            }
            let mark = load.answered.load(ordering: .relaxed)
            try await waitUntil("load on the new process", seconds: 10) { load.answered.load(ordering: .relaxed) >= mark + 100 }
            load.stop.store(true, ordering: .relaxed)
            for thread in threads { thread.join() }
            #expect(load.failureList.isEmpty, "\(load.failureList.prefix(10))")
            #expect(server.log.contains("MB resident"), "\(server.log)")
        }
    }
}
