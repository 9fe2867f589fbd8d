// `status -d`: the live status screen, refreshed every second with qps.

import Synchronization
import Testing
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    @Test func liveStatusRefreshesEverySecondWithQps() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            // Steady load (a fresh connection per request), so every sample sees requests.
            let counters = LoadCounters()
            let load = try repeatInBackground(counters) {
                let client = try Client(port: port)
                guard try client.echo("load") == "load" else { throw HarnessError("wrong echo") }
            }
            defer {
                counters.stop.store(true, ordering: .relaxed)
                load.join()
            }
            try await waitUntil("load to run", seconds: 5) { counters.succeeded.load(ordering: .relaxed) >= 20 }
            let echo = server.echoChildren()

            let live = try server.launch(["status", "-d"])
            let marker = "Press Ctrl+C to quit."
            var output = ""
            // It samples, then refreshes after one second and after two: the second screen cannot come
            // sooner than two seconds after the start.
            try await waitUntil("two screens of status -d", seconds: 8) {
                output = readFile(live.outputPath) ?? ""
                return output.split(separator: "\n").filter { $0 == marker }.count >= 2
            }
            let elapsed = monotonicSeconds() - live.startedAt
            #expect(isAlive(live.pid), "status -d ended by itself")
            kill(live.pid, SIGINT)  // Ctrl+C
            let ended = await server.finish(live, seconds: 5)
            #expect(ended.status == 128 + SIGINT, "\(ended)")
            #expect(elapsed >= 2, "two screens after \(elapsed) s")
            #expect(counters.failureList.isEmpty, "\(counters.failureList)")

            // Each screen clears the terminal first, then shows the whole table and the footer.
            let clear = "\u{1b}[H\u{1b}[2J"
            let screens = output.split(separator: clear)
            #expect(screens.count >= 2, "\(output)")
            var requests: [Int] = []
            var totals: [Int] = []
            for screen in screens.prefix(2) {
                #expect(screen.hasSuffix(marker + "\n"), "\(screen)")
                let status = try StatusOutput(String(screen))
                #expect(status.header == StatusOutput.columns, "\(screen)")
                #expect(status.rows.count == 3, "\(screen)")
                // qps per process (the ticker serves nothing), and the summary adds them up.
                let qps = status.rows.map { $0["qps"].flatMap(Int.init) ?? -1 }
                #expect(qps.allSatisfy { $0 >= 0 }, "\(screen)")
                #expect(status.rows(worker: "ticker").first?["qps"] == "0", "\(screen)")
                #expect(Set(status.rows(worker: "echo").compactMap { $0["pid"].flatMap(pid_t.init) }) == echo, "\(screen)")
                #expect(status.summary.count == StatusOutput.columns.count, "\(status.summary)")
                let total = status.summary.count > 7 ? Int(status.summary[7]) : nil
                #expect(total == qps.reduce(0, +), "\(screen)")
                totals.append(total ?? 0)
                requests.append(status.summary.count > 6 ? Int(status.summary[6]) ?? -1 : -1)
            }
            #expect(requests.count == 2 && requests[1] > requests[0], "\(requests)")
            // Under a sanitizer on a busy machine one second's sample can catch the load thread between
            // requests; over two samples the steady load always shows.
            #expect(totals.contains { $0 > 0 }, "qps per screen: \(totals)")
        }
    }
}
