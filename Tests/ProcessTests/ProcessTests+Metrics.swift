// The master's metrics endpoint: Prometheus text read from the status board, checked by promtool, and
// bad metrics addresses refused at start.

import Synchronization
import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

let hasPromtool = access("/usr/bin/promtool", X_OK) == 0 || access("/usr/local/bin/promtool", X_OK) == 0

extension TestServer {
    /// The metrics port the master logged.
    func metricsPort() async throws -> UInt16 {
        var port: UInt16 = 0
        try await waitUntil("the metrics line in the log") {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("/metrics") }),
                let start = line.firstRange(of: "127.0.0.1:")
            else { return false }
            port = UInt16(line[start.upperBound...].prefix { $0.isNumber }) ?? 0
            return port != 0
        }
        return port
    }

    /// One `GET /metrics`: the body.
    func scrape(port: UInt16) throws -> String {
        let client = try Client(port: port)
        try client.send("GET /metrics HTTP/1.1\r\nHost: metrics\r\n\r\n")
        let answer = try client.read(until: KeepAliveLoad.isCompleteResponse)
        guard answer.hasPrefix("HTTP/1.1 200"), let body = answer.firstRange(of: "\r\n\r\n") else {
            throw HarnessError("metrics answered: \(answer.prefix(200))")
        }
        return String(answer[body.upperBound...])
    }
}

/// The samples of `name` in a scrape: labels text and value.
func samples(_ name: String, in text: String) -> [(labels: String, value: Double)] {
    text.split(separator: "\n").compactMap { line in
        guard line.hasPrefix(name + "{") || line.hasPrefix(name + " "), let space = line.lastIndex(of: " ") else { return nil }
        return (String(line[line.startIndex..<space].dropFirst(name.count)), Double(line[line.index(after: space)...]) ?? .nan)
    }
}

extension ProcessTests {
    @Test func metricsMatchStatusAndPassPromtool() async throws {
        try await withTestServer(["WM_METRICS": "127.0.0.1:0", "WM_WEB": "1"]) { server in
            let port = try await server.startDaemon(processes: 4)
            let metricsPort = try await server.metricsPort()
            let client = try Client(port: port)
            for index in 0..<50 { #expect(try client.echo("m\(index)") == "m\(index)") }
            // A scrape under load answers too.
            let (load, threads) = try KeepAliveLoad.start(port: try await server.webPort(), connections: 4)
            try await waitUntil("load to run", seconds: 10) { load.answered.load(ordering: .relaxed) >= 100 }
            _ = try server.scrape(port: metricsPort)
            load.stop.store(true, ordering: .relaxed)
            for thread in threads { thread.join() }
            #expect(load.failureList.isEmpty)

            let text = try server.scrape(port: metricsPort)
            let status = try await server.status()
            let requests = samples("workerman_requests_total", in: text)
            #expect(requests.count == 4, "\(text)")
            let statusTotal = status.rows.reduce(0) { $0 + (Int($1["total_request"] ?? "") ?? 0) }
            #expect(Int(requests.reduce(0) { $0 + $1.value }) == statusTotal, "\(text)\n\(status.text)")
            for pid in server.runningChildren().map(\.pid) {
                #expect(requests.contains { $0.labels.contains("pid=\"\(pid)\"") }, "\(pid) missing: \(text)")
            }
            #expect(samples("workerman_connections", in: text).contains { $0.labels.contains("worker=\"echo\"") && $0.value == 1 })
            #expect(samples("workerman_resident_memory_bytes", in: text).allSatisfy { $0.value > 1_000_000 }, "\(text)")
            // Every process that served has ticks in its histogram (an idle one may have none yet).
            let ticks = samples("workerman_tick_duration_seconds_count", in: text)
            for served in requests where served.value > 0 {
                #expect(ticks.first { $0.labels == served.labels }.map { $0.value > 0 } == true, "\(served.labels): \(text)")
            }
            #expect(samples("workerman_tick_duration_seconds_bucket", in: text).count == 4 * 11)
            #expect(samples("workerman_processes", in: text).count == 3)
            #expect(samples("workerman_busy", in: text).count == 4)
            #expect(text.contains("# TYPE workerman_tick_duration_seconds histogram"))
            // Nothing but /metrics.
            let other = try Client(port: metricsPort)
            try other.send("GET / HTTP/1.1\r\nHost: m\r\n\r\n")
            #expect(try other.read(until: KeepAliveLoad.isCompleteResponse).hasPrefix("HTTP/1.1 404"))

            if hasPromtool {
                let file = "\(server.directory)/metrics.txt"
                try writeFile(file, text)
                let check = try spawnProgram(
                    "/bin/sh", ["-c", "promtool check metrics < '\(file)'"],
                    environment: [:], output: file + ".out", errors: file + ".out"
                )
                let code = await waitForExit(check, seconds: 20)
                #expect(code == 0, "\(readFile(file + ".out") ?? "")\n\(text)")
            }
        }
    }

    @Test func aBadOrBusyMetricsAddressFailsTheStart() async throws {
        let holder = try PortHolder()
        for (address, expected) in [("nonsense", "host:port"), ("127.0.0.1:\(holder.port)", "in use"), ("127.0.0.1:99999", "metrics")] {
            try await withTestServer(["WM_METRICS": address]) { server in
                let result = try await server.run(["start"])
                #expect(result.status != 0, "\(address): \(result)")
                #expect(result.all.contains("metricsAddress"), "\(address): \(result)")
                #expect(result.all.contains(expected), "\(address): \(result)")
                #expect(server.livingProcesses().isEmpty, "\(address)")
            }
        }
    }
}
