// `upgrade` against real processes: a new master on the same sockets under load, and a new binary that
// fails, which leaves the old master serving.

import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A client that connects in a tight loop, answers checked, and notes the longest gap between two
/// accepted connections (the issue's target: at most 10 ms on a quiet machine).
final class ConnectLoop: Sendable {
    let counters = LoadCounters()
    let longestGap = Atomic<Int>(0)  // microseconds

    func start(port: UInt16) throws -> BackgroundThread {
        let last = ThreadLock(monotonicSeconds())
        return try repeatInBackground(counters) { [self] in
            let client = try Client(port: port, timeout: 5)
            defer { client.close() }
            guard try client.echo("ping") == "ping" else { throw HarnessError("wrong echo") }
            let now = monotonicSeconds()
            let gap = last.withLock { previous in
                defer { previous = now }
                return Int((now - previous) * 1e6)
            }
            if gap > longestGap.load(ordering: .relaxed) { longestGap.store(gap, ordering: .relaxed) }
        }
    }
}

/// Whether this run's echo worker uses reuse_port on a kernel that resets the connections queued on a
/// closing reuse-port socket (`net.ipv4.tcp_migrate_req` off, the default).
func reusePortLosesQueuedConnections(_ environment: [String: String]) -> Bool {
    guard environment["WM_REUSE_PORT"] == "1" else { return false }
    return readFile("/proc/sys/net/ipv4/tcp_migrate_req")?.hasPrefix("1") != true
}

extension ProcessTests {
    /// Upgrades a server under a keep-alive HTTP load and a connect loop; returns nothing, checks all.
    func upgradeUnderLoad(_ extra: [String: String]) async throws {
        try await withTestServer(["WM_WEB": "1", "WM_METRICS": "127.0.0.1:0"].merging(extra) { $1 }) { server in
            let echoPort = try await server.startDaemon(processes: 4)
            let webPort = try await server.webPort()
            let metricsPort = try await server.metricsPort()
            let oldMaster = try #require(server.masterPID())
            let oldProcesses = Set(server.runningChildren().map(\.pid))

            let (load, threads) = try KeepAliveLoad.start(port: webPort, connections: 8)
            let connects = ConnectLoop()
            let connector = try connects.start(port: echoPort)
            defer {
                load.stop.store(true, ordering: .relaxed)
                connects.counters.stop.store(true, ordering: .relaxed)
                for thread in threads { thread.join() }
                connector.join()
            }
            try await waitUntil("load to run", seconds: 10) {
                load.answered.load(ordering: .relaxed) >= 200 && connects.counters.succeeded.load(ordering: .relaxed) >= 50
            }
            connects.longestGap.store(0, ordering: .relaxed)

            let upgrade = try await server.run(["upgrade"], seconds: 30)
            #expect(upgrade.status == 0, "\(upgrade)\n\(server.log)")
            #expect(upgrade.output.contains("upgraded"), "\(upgrade)")
            var newMaster: pid_t = 0
            try await waitUntil("the new master to serve alone", seconds: 20) {
                guard let master = server.masterPID(), master != oldMaster else { return false }
                newMaster = master
                let serving = Set(server.runningChildren().map(\.pid))
                return serving.count == 4 && serving.isDisjoint(with: oldProcesses) && !isAlive(oldMaster)
                    && oldProcesses.allSatisfy { !isAlive($0) }
            }
            server.track(newMaster)
            let mark = load.answered.load(ordering: .relaxed)
            let connectMark = connects.counters.succeeded.load(ordering: .relaxed)
            try await waitUntil("load on the new processes", seconds: 10) {
                load.answered.load(ordering: .relaxed) >= mark + 200 && connects.counters.succeeded.load(ordering: .relaxed) >= connectMark + 50
            }
            load.stop.store(true, ordering: .relaxed)
            connects.counters.stop.store(true, ordering: .relaxed)
            for thread in threads { thread.join() }
            connector.join()

            #expect(load.failureList.isEmpty, "\(load.failureList.prefix(10))")
            #expect(load.refused.load(ordering: .relaxed) == 0)
            if reusePortLosesQueuedConnections(extra) {
                // Each old reuse-port child closes its own socket: a connection the kernel queued on it
                // just before is reset, unless net.ipv4.tcp_migrate_req moves it to a live socket.
                withKnownIssue("reuse_port without net.ipv4.tcp_migrate_req=1", isIntermittent: true) {
                    #expect(connects.counters.failureList.isEmpty, "\(connects.counters.failureList.prefix(10))")
                }
            } else {
                #expect(connects.counters.failureList.isEmpty, "\(connects.counters.failureList.prefix(10))")
            }
            trace("longest gap between accepted connections: \(connects.longestGap.load(ordering: .relaxed)) µs")
            // The metrics listener was handed over too: the same port answers, from the new master's board.
            let metrics = try server.scrape(port: metricsPort)
            #expect(metrics.contains("workerman_"), "\(metrics.prefix(300))")
            #expect(parentPID(try #require(server.webChild())) == newMaster)
            #expect(server.log.contains("upgraded: the new master is pid \(newMaster)"), "\(server.log)")
            #expect(!server.log.contains("remaining connection"), "\(server.log)")
        }
    }

    @Test func upgradeUnderLoadRefusesNoConnectionAndFailsNoRequest() async throws {
        try await upgradeUnderLoad([:])
    }

    @Test func upgradeWithReusePortWorkers() async throws {
        let reservation = try ReusePortReservation()
        try await upgradeUnderLoad(["WM_REUSE_PORT": "1", "WM_PORT": String(reservation.port)])
    }

    @Test func aNewBinaryThatFailsLeavesTheOldMasterServing() async throws {
        try await withTestServer(["WM_SLOW_SECONDS": "4", "WM_GRACEFUL_TIMEOUT": "8"]) { server in
            // Started from a copy, so the binary on disk can be replaced by a broken one.
            let copy = "\(server.directory)/WorkermanProcessTestServer"
            #expect(system("cp '\(TestServer.binary)' '\(copy)'") == 0)
            server.program = copy
            let port = try await server.startDaemon()
            let master = try #require(server.masterPID())
            let children = Set(server.runningChildren().map(\.pid))
            try writeFile("\(copy).broken", "#!/bin/sh\necho 'this binary is broken' >&2\nexit 3\n")
            #expect(chmod("\(copy).broken", 0o755) == 0 && rename("\(copy).broken", copy) == 0)
            server.program = TestServer.binary

            let upgrade = try await server.run(["upgrade"], seconds: 30)
            #expect(upgrade.status == 1, "\(upgrade)")
            #expect(upgrade.errors.contains("keeps serving") && upgrade.errors.contains("exited with status 3"), "\(upgrade)")
            #expect(server.masterPID() == master)
            #expect(Set(server.runningChildren().map(\.pid)) == children)
            #expect(try Client(port: port).echo("still here") == "still here")
            let status = try await server.status()
            #expect(status.rows.count == 3, "\(status.text)")

            // An upgrade during a reload is refused with a message.
            let slow = try Client(port: port, timeout: 8)
            try slow.send("slow")
            try await waitUntil("the slow request to arrive", seconds: 3) { server.totalRequests() >= 2 }
            #expect(try await server.run(["reload", "-g"]).status == 0)
            try await waitUntil("the reload to start", seconds: 5) { server.log.contains("gracefully reloading") }
            let refused = try await server.run(["upgrade"], seconds: 10)
            #expect(refused.status == 1 && refused.errors.contains("refused: a reload is in progress"), "\(refused)")
        }
    }
}
