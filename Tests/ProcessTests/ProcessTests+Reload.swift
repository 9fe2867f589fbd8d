// Graceful reload and workers that are not reloadable, against real processes.

import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    /// Pids that answered "pid" on a fresh connection, each marked with whether the connection was made
    /// after the test saw the slow child stop accepting.
    final class Answers: Sendable {
        let afterStop = Atomic<Bool>(false)
        private let answers = ThreadLock<[(pid: pid_t, afterStop: Bool)]>([])

        func add(_ pid: pid_t, afterStop: Bool) { answers.withLock { $0.append((pid, afterStop)) } }
        var all: [(pid: pid_t, afterStop: Bool)] { answers.withLock { $0 } }
        var countAfterStop: Int { answers.withLock { $0.filter(\.afterStop).count } }
    }

    @Test func gracefulReloadFinishesTheRequestInFlightAndSendsNewConnectionsToNewChildren() async throws {
        try await withTestServer(["WM_SLOW_SECONDS": "2.5", "WM_GRACEFUL_TIMEOUT": "8"]) { server in
            let port = try await server.startDaemon()
            let before = Set(server.runningChildren().map(\.pid))
            let slow = try Client(port: port, timeout: 8)
            let slowPID = try slow.servingPID()
            try slow.send("slow")
            try await waitUntil("the slow request to arrive", seconds: 3) { server.totalRequests() >= 2 }

            // Fresh connections all through the reload: none may fail.
            let counters = LoadCounters()
            let answers = Answers()
            let load = try repeatInBackground(counters) {
                let afterStop = answers.afterStop.load(ordering: .acquiring)
                answers.add(try Client(port: port).servingPID(), afterStop: afterStop)
            }
            defer {
                counters.stop.store(true, ordering: .relaxed)
                load.join()
            }
            try await waitUntil("load to run", seconds: 5) { counters.succeeded.load(ordering: .relaxed) >= 20 }

            let reload = try await server.run(["reload", "-g"])
            #expect(reload.status == 0, "\(reload)")
            // The slow child stops accepting (its slot says so in the same callback that closes its
            // listener) but keeps its connection: the answer is still being prepared.
            try await waitUntil("the slow child to stop accepting", seconds: 5) { server.slotState(of: slowPID) == SlotRecord.stopping }
            answers.afterStop.store(true, ordering: .releasing)
            var pending = pollfd(fd: slow.fd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&pending, 1, 0) == 0, "the slow request finished before the reload reached its process")
            try await waitUntil("connections made after that", seconds: 5) { answers.countAfterStop >= 20 }
            #expect(isAlive(slowPID))

            // The request in flight is answered by its old process, which leaves once its client is done.
            try await slow.waitUntilReadable(seconds: 6)
            #expect(try slow.readLine() == "done")
            slow.close()
            var after = Set<pid_t>()
            try await waitUntil("every child replaced", seconds: 10) {
                after = Set(server.runningChildren().map(\.pid))
                return after.count == 3 && after.isDisjoint(with: before) && server.log.contains("reload done")
            }
            let atReplaced = counters.succeeded.load(ordering: .relaxed)
            try await waitUntil("load after the reload", seconds: 5) { counters.succeeded.load(ordering: .relaxed) >= atReplaced + 20 }
            counters.stop.store(true, ordering: .relaxed)
            load.join()

            #expect(counters.failureList.isEmpty, "\(counters.failureList.prefix(10))")
            let strays = answers.all.filter { $0.afterStop && $0.pid == slowPID }
            #expect(strays.isEmpty, "\(strays.count) connection(s) made after the slow child stopped accepting went to it")
            // Once replaced, only new children answer.
            for _ in 0..<20 { #expect(after.contains(try Client(port: port).servingPID())) }
            #expect(before.allSatisfy { !isAlive($0) })
            // Nobody was killed: every exit is a clean one.
            let status = try await server.status()
            #expect(status.exits.allSatisfy { $0.count == 3 && $0[1] == "0" }, "\(status.text)")
            #expect(server.log.contains("gracefully reloading"), "\(server.log)")
            #expect(!server.log.contains("remaining connection"), "\(server.log)")
        }
    }

    @Test func aWorkerThatIsNotReloadableOnlyRunsOnWorkerReload() async throws {
        try await withTestServer(["WM_TICKER_RELOADABLE": "0"]) { server in
            let port = try await server.startDaemon()
            let ticker = try #require(server.tickerChild())
            var echo = server.echoChildren()
            #expect(echo.count == 2)
            let master = try #require(server.masterPID())

            // The command (SIGUSR1), then the graceful signal sent to the master directly.
            for (round, graceful) in [(1, false), (2, true)] {
                if graceful {
                    #expect(kill(master, SIGUSR2) == 0)
                } else {
                    let reload = try await server.run(["reload"])
                    #expect(reload.status == 0, "\(reload)")
                }
                var replaced = Set<pid_t>()
                try await waitUntil("reload \(round): echo replaced, the ticker notified", seconds: 10) {
                    replaced = server.echoChildren()
                    return replaced.count == 2 && replaced.isDisjoint(with: echo) && server.logCount("reload done") == round
                        && server.reloadCount(worker: "ticker", pid: ticker) == round
                }
                // Reloadable processes ran onWorkerReload too, before they left.
                for pid in echo { #expect(server.reloadCount(worker: "echo", pid: pid) == 1, "echo \(pid), reload \(round)") }
                #expect(server.tickerChild() == ticker)
                #expect(isAlive(ticker))
                echo = replaced
            }
            #expect(try Client(port: port).echo("still here") == "still here")
            let status = try await server.status()
            #expect(status.rows(worker: "ticker").map { $0["pid"] } == [String(ticker)], "\(status.text)")
            #expect(status.exits.contains(["ticker", "0", "0"]), "\(status.text)")
        }
    }
}
