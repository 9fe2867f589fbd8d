// `status -d`: the live status screen, refreshed every second with qps (Workerman §5.7, §5.8).

import Synchronization
import Testing
import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    @Test func liveStatusRefreshesEverySecondWithQps() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            // Steady load on one keep-alive connection, so every sample sees requests.
            let counters = LoadCounters()
            let servingPID = Atomic<pid_t>(0)
            let load = try BackgroundThread {
                do {
                    let client = try Client(port: port)
                    servingPID.store(try client.servingPID(), ordering: .releasing)
                    var index = 0
                    while !counters.stop.load(ordering: .relaxed) {
                        index += 1
                        if try client.echo("load \(index)") == "load \(index)" { counters.succeeded.add(1, ordering: .relaxed) }
                    }
                } catch {
                    counters.fail("\(error)")
                }
            }
            defer {
                counters.stop.store(true, ordering: .relaxed)
                load.join()
            }
            try await waitUntil("load to run", seconds: 5) { counters.succeeded.load(ordering: .relaxed) >= 20 }
            let served = servingPID.load(ordering: .acquiring)

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
            for screen in screens.prefix(2) {
                #expect(screen.hasSuffix(marker + "\n"), "\(screen)")
                let status = try StatusOutput(String(screen))
                #expect(status.header == StatusOutput.columns, "\(screen)")
                #expect(status.rows.count == 3, "\(screen)")
                let row = try #require(status.row(pid: served), "\(screen)")
                let qps = try #require(row["qps"].flatMap(Int.init), "\(row)")
                #expect(qps > 0, "\(row)")
                requests.append(row["total_request"].flatMap(Int.init) ?? -1)
                // Idle processes serve nothing; the summary adds the column up.
                #expect(status.rows.filter { $0["pid"] != String(served) }.allSatisfy { $0["qps"] == "0" }, "\(screen)")
                #expect(status.summary.count == StatusOutput.columns.count && status.summary[7] == String(qps), "\(status.summary)")
            }
            #expect(requests.count == 2 && requests[1] > requests[0], "\(requests)")
        }
    }
}
