// Real processes, the top level of testing: the test server is started as a program, driven with its own
// command line and plain sockets, signalled, and read through `status` and `connections`. Every test has its
// own directory and port 0, waits only for conditions with deadlines, and kills whatever it started.
//
// Serialized: several masters with their children at once on a small machine make the timing checks
// (back-off, stop within the timeout) needlessly tight.

import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// The limit is a hang guard (every wait in the harness has its own bound of seconds). Two minutes, not
// one: a test's time includes waiting for a thread of the test pool (two on two cores) each time it
// resumes from a poll, and under AddressSanitizer or ThreadSanitizer the synchronous tests running in
// parallel hold those threads several times longer; the first test of this serialized suite, started
// while every other suite runs, went past a minute in about half the sanitized runs (2 s alone).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ProcessTests {
    // MARK: - Start, daemon, files

    @Test func daemonStartDetachesAndWritesPidAndLogFiles() async throws {
        try await withTestServer { server in
            let start = try await server.run(["start", "-d"])
            #expect(start.status == 0, "\(start)")
            // The start table, as Workerman prints it.
            #expect(start.output.contains("WORKERMAN"), "\(start)")
            let tableRow = start.output.split(separator: "\n").first { $0.contains(" echo ") }.map { $0.split(separator: " ").map(String.init) }
            #expect(tableRow?.first == "tcp", "\(start)")
            #expect(tableRow?.contains("tcp://127.0.0.1:0") == true, "\(start)")
            #expect(tableRow?.suffix(2) == ["2", "[OK]"], "\(start)")
            #expect(start.output.contains("Start success."), "\(start)")
            #expect(start.output.contains("stop\" to stop."), "\(start)")

            // The command returned while the master lives on, detached: not our child, its own session.
            let master = try #require(server.masterPID(), "no live master in the pid file")
            #expect(master != start.pid)
            #expect(parentPID(master) != getpid())
            #expect(parentPID(master) != start.pid)
            #expect(sessionID(master) == master)
            #expect(commandLine(master).hasPrefix("WorkerMan: master process  start_file="), "\(commandLine(master))")
            #expect(server.log.contains("start in DAEMON mode"), "\(server.log)")
            #expect(fileExists(server.statusFile))

            let port = try await server.waitForPort()
            let children = try await server.waitUntilServing(3)
            let titles = children.map(commandLine).sorted()
            #expect(titles.filter { $0.hasPrefix("WorkerMan: worker process  echo tcp://127.0.0.1:0") }.count == 2, "\(titles)")
            #expect(titles.filter { $0.hasPrefix("WorkerMan: worker process  ticker none") }.count == 1, "\(titles)")
            // Log lines look like Workerman's: `YYYY-MM-DD HH:MM:SS pid:N message`.
            let firstLine = server.log.split(separator: "\n").first.map(String.init) ?? ""
            #expect(firstLine.split(separator: " ").count >= 4 && firstLine.split(separator: " ")[2].hasPrefix("pid:"), "\(firstLine)")

            let client = try Client(port: port)
            #expect(try client.echo("hello") == "hello")
            client.close()

            let stop = try await server.run(["stop"])
            #expect(stop.status == 0, "\(stop)")
            #expect(stop.all.contains("stop success"), "\(stop)")
            #expect(!fileExists(server.pidFile))
            #expect(!fileExists(server.statusFile))
            #expect(!isAlive(master))
            #expect(children.allSatisfy { !isAlive($0) })
            #expect(server.log.contains("has been stopped"))
            #expect(server.livingProcesses().isEmpty)
        }
    }

    @Test func foregroundStartStopsOnControlC() async throws {
        try await withTestServer { server in
            let command = try server.launch(["start"])
            let port = try await server.waitForPort()
            let children = try await server.waitUntilServing(3)
            // In the foreground the command itself is the master.
            #expect(server.masterPID() == command.pid)
            #expect(children.allSatisfy { parentPID($0) == command.pid })
            #expect(try Client(port: port).echo("ping") == "ping")

            kill(command.pid, SIGINT)
            let result = await server.finish(command, seconds: 5)
            #expect(result.status == 0, "\(result)")
            #expect(result.output.contains("Press Ctrl+C to stop. Start success."), "\(result)")
            #expect(result.all.contains("start in DEBUG mode"), "\(result)")
            try await waitUntil("the children to exit", seconds: 3) { children.allSatisfy { !isAlive($0) } }
            #expect(!fileExists(server.pidFile))
        }
    }

    @Test func daemonizeSettingDetachesAPlainStart() async throws {
        try await withTestServer(["WM_DAEMONIZE": "1"]) { server in
            let start = try await server.run(["start"], seconds: 10)
            #expect(start.status == 0, "\(start)")
            let master = try #require(server.masterPID())
            #expect(parentPID(master) != getpid())
            try await server.waitUntilServing(3)
            #expect(server.log.contains("start in DAEMON mode"))
        }
    }

    @Test func aWorkerThatFailedToConstructDoesNotRun() async throws {
        try await withTestServer(["WM_BAD_WORKER": "1"]) { server in
            let start = try await server.run(["start", "-d"])
            #expect(start.status == 0, "\(start)")
            let workers = start.output.split(separator: "\n").filter { $0.hasSuffix("[OK]") }.map { $0.split(separator: " ")[2] }
            #expect(workers == ["echo", "ticker"], "\(start)")
            try await server.waitUntilServing(3)
            let status = try await server.status()
            #expect(status.globalLines.contains { $0.contains("2 workers") && $0.contains("3 processes") }, "\(status.text)")
        }
    }

    // MARK: - Serving

    @Test func requestsReachEveryChild() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            let echoPIDs = server.echoChildren()
            #expect(echoPIDs.count == 2)
            var answered = Set<pid_t>()
            try await waitUntil("both echo children to answer (so far \(answered) of \(echoPIDs))", seconds: 5) {
                let client = try Client(port: port)
                answered.insert(try client.servingPID())
                return answered == echoPIDs
            }
            #expect(answered == echoPIDs)
        }
    }

    @Test func killedChildIsRestartedAndItsExitCounted() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            let before = server.echoChildren()
            let victim = try #require(before.sorted().first)
            #expect(kill(victim, SIGKILL) == 0)

            // While the master notices and restarts it, the shared listener keeps accepting: every connection
            // made now is served by the survivor or the replacement.
            for index in 0..<30 {
                let client = try Client(port: port)
                #expect(try client.echo("during restart \(index)") == "during restart \(index)")
            }
            var after = Set<pid_t>()
            try await waitUntil("a replacement for \(victim)", seconds: 5) {
                after = server.echoChildren()
                return after.count == 2 && !after.contains(victim) && !isAlive(victim)
            }
            #expect(after.isSuperset(of: before.subtracting([victim])))
            for index in 0..<10 {
                #expect(try Client(port: port).echo("after \(index)") == "after \(index)")
            }

            let status = try await server.status()
            #expect(status.exits.contains(["echo", "9", "1"]), "\(status.text)")
            #expect(status.exits.contains(["ticker", "0", "0"]), "\(status.text)")
            #expect(Set(status.rows(worker: "echo").compactMap { $0["pid"].flatMap(pid_t.init) }) == after, "\(status.text)")
            #expect(server.log.contains("worker[echo:\(victim)] exit with status 9"), "\(server.log)")
        }
    }

    // MARK: - Reload

    @Test func reloadUnderLoadFailsNoRequestAndReplacesEveryChild() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            let before = Set(server.runningChildren().map(\.pid))
            #expect(before.count == 3)

            let counters = LoadCounters()
            // One client opens a fresh connection per request; one keeps its connection alive and, like an HTTP
            // client, resends on a new connection only when the server closed the idle one before answering.
            let fresh = try repeatInBackground(counters) {
                let answer = try Client(port: port).echo("fresh")
                guard answer == "fresh" else { throw HarnessError("fresh: \(answer)") }
            }
            let keepAlive = try BackgroundThread {
                var client: Client?
                var index = 0
                while !counters.stop.load(ordering: .relaxed) {
                    index += 1
                    let message = "kept \(index)"
                    do {
                        let reused = client != nil
                        if client == nil { client = try Client(port: port) }
                        do {
                            let answer = try client!.echo(message)
                            if answer == message {
                                counters.succeeded.add(1, ordering: .relaxed)
                            } else {
                                counters.fail("keep-alive: \(answer) for \(message)")
                            }
                        } catch let error as ClientError where reused && (error.kind == .closed || error.kind == .send) && error.received == 0 {
                            counters.retried.add(1, ordering: .relaxed)
                            client = try Client(port: port)
                            let answer = try client!.echo(message)
                            if answer == message {
                                counters.succeeded.add(1, ordering: .relaxed)
                            } else {
                                counters.fail("keep-alive retry: \(answer) for \(message)")
                            }
                        }
                    } catch {
                        counters.fail("keep-alive \(index): \(error)")
                        client = nil
                    }
                }
            }
            defer {
                counters.stop.store(true, ordering: .relaxed)
                fresh.join()
                keepAlive.join()
            }

            try await waitUntil("load to run", seconds: 5) { counters.succeeded.load(ordering: .relaxed) >= 50 }
            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            var after = Set<pid_t>()
            try await waitUntil("every child replaced", seconds: 10) {
                after = Set(server.runningChildren().map(\.pid))
                return after.count == 3 && after.isDisjoint(with: before) && server.log.contains("reload done")
            }
            let atReload = counters.succeeded.load(ordering: .relaxed)
            try await waitUntil("load to go on after the reload", seconds: 5) { counters.succeeded.load(ordering: .relaxed) >= atReload + 50 }
            counters.stop.store(true, ordering: .relaxed)
            fresh.join()
            keepAlive.join()

            #expect(counters.failureList.isEmpty, "\(counters.failureList.prefix(10))")
            #expect(before.allSatisfy { !isAlive($0) })
            let master = try #require(server.masterPID())
            #expect(after.allSatisfy { parentPID($0) == master })
            #expect(server.log.contains("reloading"))
        }
    }

    // MARK: - Stop

    @Test func gracefulStopLetsAnInFlightSlowRequestFinish() async throws {
        try await withTestServer(["WM_SLOW_SECONDS": "1", "WM_GRACEFUL_TIMEOUT": "8"]) { server in
            let port = try await server.startDaemon()
            let client = try Client(port: port, timeout: 6)
            try client.send("slow")
            try await waitUntil("the slow request to arrive", seconds: 3) { server.totalRequests() >= 1 }

            let stopping = try server.launch(["stop", "-g"])
            try await client.waitUntilReadable(seconds: 6)
            #expect(try client.readLine() == "done")
            client.close()
            let stop = await server.finish(stopping, seconds: 12)
            #expect(stop.status == 0, "\(stop)")
            #expect(stop.all.contains("stop success"), "\(stop)")
            // The slow request took a second; the stop did not wait for the graceful timeout once it was done.
            #expect(stop.seconds < 5, "\(stop)")
            #expect(server.livingProcesses().isEmpty)
        }
    }

    @Test func stuckWorkerShowsBusyInStatusAndStopStillEndsInTime() async throws {
        try await withTestServer(["WM_STOP_TIMEOUT": "1"]) { server in
            let port = try await server.startDaemon()
            let client = try Client(port: port)
            try client.send("stuck")

            var status: StatusOutput?
            var busy: [String: String]?
            try await waitUntil("status to show a busy worker", seconds: 6) {
                status = try await server.status()
                busy = status?.rows.first { $0["state"]?.hasPrefix("[busy]") == true }
                return busy != nil
            }
            let row = try #require(busy)
            let state = row["state"]!.split(separator: " ").map(String.init)
            // `[busy] onMessage conn N for X s`
            #expect(state.count == 7, "\(row)")
            #expect(Array(state.prefix(3)) == ["[busy]", "onMessage", "conn"], "\(row)")
            #expect(Int(state[3]).map { $0 >= 1 } == true, "\(row)")
            #expect(state[4] == "for" && state[6] == "s", "\(row)")
            #expect(Double(state[5]).map { $0 >= 1.0 && $0 < 30 } == true, "\(row)")
            #expect(row["worker_name"] == "echo")
            let stuck = try #require(row["pid"].flatMap(pid_t.init))
            #expect(server.echoChildren().contains(stuck))
            // The other echo process and the ticker are idle.
            #expect(status!.rows.filter { $0["state"] == "[idle]" }.count == 2, "\(status!.text)")

            // `connections` cannot hear from the stuck process: it shows it as busy rather than waiting.
            let connections = try await server.run(["connections"])
            #expect(connections.status == 0, "\(connections)")
            #expect(connections.output.split(separator: "\n").contains { $0.hasPrefix("\(stuck) ") && $0.contains("[busy]") }, "\(connections)")

            // `stop` itself is bounded (8 s against a 1 s stop timeout); how fast it returns is the machine's
            // business, that it killed the stuck process after its timeout is the log's line below.
            let stop = try await server.run(["stop"], seconds: 8)
            #expect(stop.status == 0, "\(stop)")
            try await waitUntil("every process to be gone", seconds: 2) { server.livingProcesses().isEmpty }
            #expect(!isAlive(stuck))
            #expect(server.log.contains("worker[echo:\(stuck)] did not stop in"), "\(server.log)")
        }
    }

    // MARK: - status and connections

    @Test func statusShowsEveryColumn() async throws {
        try await withTestServer { server in
            let wallBefore = Int(time(nil))
            let port = try await server.startDaemon()
            let client = try Client(port: port)
            let served = try client.servingPID()
            for index in 0..<3 { #expect(try client.echo("request \(index)") == "request \(index)") }

            let status = try await server.status()
            // GLOBAL STATUS
            #expect(status.text.contains("GLOBAL STATUS"))
            #expect(status.globalLines.contains { $0.hasPrefix("Workerman for Swift version:") }, "\(status.text)")
            #expect(status.globalLines.contains { $0.hasPrefix("start time:") && $0.contains(" run 0 days 0 hours") }, "\(status.text)")
            #expect(status.globalLines.contains { $0.hasPrefix("load average: ") }, "\(status.text)")
            #expect(status.globalLines.contains { $0.contains(" users ") && $0.contains("2 workers") && $0.contains("3 processes") }, "\(status.text)")
            #expect(status.exits == [["echo", "0", "0"], ["ticker", "0", "0"]], "\(status.text)")

            // PROCESS STATUS, column by column.
            #expect(status.header == StatusOutput.columns, "\(status.header)")
            #expect(status.rows.count == 3, "\(status.text)")
            let master = try #require(server.masterPID())
            for row in status.rows {
                let pid = try #require(row["pid"].flatMap(pid_t.init), "\(row)")
                #expect(parentPID(pid) == master, "\(row)")
                let memory = row["memory"] ?? ""
                #expect(memory.hasSuffix("M") && Double(memory.dropLast()).map { $0 > 0 } == true, "\(row)")
                #expect(memory.dropLast().split(separator: ".").last?.count == 2, "\(row)")
                let started = try #require(row["timestamp"].flatMap(Int.init), "\(row)")
                #expect(started >= wallBefore - 1 && started <= Int(time(nil)) + 1, "\(row)")
                #expect(row["qps"] == "0", "\(row)")
                #expect(row["packet_err"] == "0", "\(row)")
                #expect(row["thunder_herd"].flatMap(Int.init) != nil, "\(row)")
                #expect(row["client_close"].flatMap(Int.init) != nil, "\(row)")
                #expect(row["send_fail"] == "0", "\(row)")
                #expect(row["throw_exception"] == "0", "\(row)")
                #expect(row["suc/total"] == "100%", "\(row)")
                #expect(row["state"] == "[idle]", "\(row)")
            }
            let echoRows = status.rows(worker: "echo")
            #expect(echoRows.count == 2)
            #expect(echoRows.allSatisfy { $0["listening"] == "tcp://127.0.0.1:0" }, "\(echoRows)")
            let ticker = try #require(status.rows(worker: "ticker").first)
            #expect(ticker["listening"] == "none")
            #expect(ticker["connections"] == "0")
            #expect(ticker["total_request"] == "0")
            #expect(ticker["timers"].flatMap(Int.init).map { $0 >= 1 } == true, "\(ticker)")
            let serving = try #require(status.row(pid: served), "\(served) not in \(status.text)")
            #expect(serving["worker_name"] == "echo")
            #expect(serving["connections"] == "1", "\(serving)")
            #expect(serving["total_request"] == "4", "\(serving)")
            let other = try #require(echoRows.first { $0["pid"] != String(served) })
            #expect(other["connections"] == "0", "\(other)")

            // The summary line adds the columns up.
            #expect(status.summary.first == "Summary", "\(status.text)")
            #expect(status.summary.last == "[Summary]", "\(status.text)")
            #expect(status.summary.count == StatusOutput.columns.count, "\(status.summary)")
            if status.summary.count == StatusOutput.columns.count {
                #expect(status.summary[5] == "1", "\(status.summary)")
                #expect(status.summary[6] == "4", "\(status.summary)")
                #expect(status.summary[14] == "100%", "\(status.summary)")
            }
        }
    }

    @Test func connectionsListsAnOpenClient() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            let client = try Client(port: port)
            let served = try client.servingPID()
            let result = try await server.run(["connections"])
            #expect(result.status == 0, "\(result)")
            #expect(result.output.contains("WORKERMAN CONNECTION STATUS"), "\(result)")
            #expect(result.output.contains("PID") && result.output.contains("Foreign Address"), "\(result)")
            let rows = result.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            let row = try #require(rows.first { $0.first == String(served) && $0.last == "127.0.0.1:\(client.localPort)" }, "\(result)")
            #expect(row.count == 14, "\(row)")
            #expect(row[1] == "echo")
            #expect(row[3] == "tcp")
            #expect(row[11] == "ESTABLISHED")
            #expect(row[12] == "127.0.0.1:\(port)")
            // Nothing of the listener-less worker, nor anything busy.
            #expect(!result.output.contains("[busy]"), "\(result)")
        }
    }

    @Test func upgradedWebSocketIsListedAndClosedOnReloadAndStop() async throws {
        try await withTestServer(["WM_WEB": "1"]) { server in
            try await server.startDaemon(processes: 4)
            var webPort: UInt16 = 0
            try await waitUntil("the web port file") {
                webPort = readFile("\(server.directory)/webport").flatMap { UInt16($0.filter(\.isNumber)) } ?? 0
                return webPort != 0
            }
            // An upgrade with a masked "hi" frame right behind it, in one write; the echo comes unmasked.
            let upgrade = Array(
                ("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
            let maskedHi: [UInt8] = [0x81, 0x82, 1, 2, 3, 4, UInt8(ascii: "h") ^ 1, UInt8(ascii: "i") ^ 2]
            func openWebSocket() throws -> Client {
                let client = try Client(port: webPort)
                try client.send(upgrade + maskedHi)
                let echo: [UInt8] = [0x81, 2, UInt8(ascii: "h"), UInt8(ascii: "i")]
                let answer = try client.read { $0.count >= 4 && Array($0.suffix(4)) == echo }
                #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(answer)")
                return client
            }
            /// Whether the server closes `client` (end of stream) within the client's read timeout.
            func closedByServer(_ client: Client) -> Bool {
                do {
                    _ = try client.read { _ in false }
                    return false
                } catch {
                    return error.kind == .closed
                }
            }

            let first = try openWebSocket()
            let listing = try await server.run(["connections"])
            #expect(listing.status == 0, "\(listing)")
            let rows = listing.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            let row = try #require(rows.first { $0.last == "127.0.0.1:\(first.localPort)" }, "\(listing)")
            #expect(row.count == 14, "\(row)")
            #expect(row[1] == "web")
            #expect(row[4] == "WebSocketServerCodec")
            #expect(row[11] == "ESTABLISHED")
            let status = try await server.status()
            #expect(status.rows(worker: "web").first?["connections"] == "1", "\(status.text)")

            // A reload drains the web process: the idle WebSocket is closed, and a new process serves.
            let before = Set(server.runningChildren().map(\.pid))
            let reload = try await server.run(["reload"])
            #expect(reload.status == 0, "\(reload)")
            #expect(closedByServer(first), "the reload closed the upgraded connection")
            try await waitUntil("four new children after the reload", seconds: 10) {
                let now = Set(server.runningChildren().map(\.pid))
                return now.count == 4 && now.isDisjoint(with: before)
            }

            // A stop closes the next one.
            let second = try openWebSocket()
            let stop = try await server.run(["stop"])
            #expect(stop.status == 0, "\(stop)")
            #expect(closedByServer(second), "the stop closed the upgraded connection")
        }
    }

    // MARK: - Pid file

    @Test func stalePidFileIsIgnored() async throws {
        try await withTestServer { server in
            // The pid of a process that has exited.
            let gone = try spawnProgram("true", [], environment: [:], output: "/dev/null", errors: "/dev/null", searchPath: true)
            #expect(await waitForExit(gone, seconds: 5) == 0)
            try writeFile(server.pidFile, "\(gone)\n")
            let stopDead = try await server.run(["stop"])
            #expect(stopDead.status == 1, "\(stopDead)")
            #expect(stopDead.all.contains("not run"), "\(stopDead)")

            // The pid of a live process that is not our master: never signalled.
            let unrelated = try spawnProgram("sleep", ["30"], environment: [:], output: "/dev/null", errors: "/dev/null", searchPath: true)
            server.track(unrelated)
            defer {
                kill(unrelated, SIGKILL)
                var status: CInt = 0
                waitpid(unrelated, &status, 0)  // immediate: SIGKILL cannot be caught
            }
            try writeFile(server.pidFile, "\(unrelated)\n")
            for command in [["stop"], ["status"], ["reload"], ["connections"]] {
                let result = try await server.run(command)
                #expect(result.status == 1, "\(command): \(result)")
                #expect(result.all.contains("not run"), "\(command): \(result)")
            }
            #expect(isAlive(unrelated))

            // start ignores the stale file and replaces it.
            let start = try await server.run(["start", "-d"])
            #expect(start.status == 0, "\(start)")
            let master = try #require(server.masterPID())
            #expect(master != unrelated)
            try await server.waitUntilServing(3)
            #expect(isAlive(unrelated))
        }
    }

    // MARK: - Threads before runAll

    @Test func threadsStartedBeforeRunAllDoNotBreakChildren() async throws {
        try await withTestServer(["WM_THREADS": "1"]) { server in
            let port = try await server.startDaemon()
            let echoPIDs = server.echoChildren()
            #expect(echoPIDs.count == 2)
            let client = try Client(port: port)
            #expect(echoPIDs.contains(try client.servingPID()))
            #expect(try client.echo("threads") == "threads")
            client.close()
            // Children started again by a reload are fine too.
            let reload = try await server.run(["reload"])
            #expect(reload.status == 0)
            try await waitUntil("children replaced", seconds: 10) {
                let now = server.echoChildren()
                return now.count == 2 && now.isDisjoint(with: echoPIDs) && server.log.contains("reload done")
            }
            #expect(try Client(port: port).echo("again") == "again")
            let stop = try await server.run(["stop"])
            #expect(stop.status == 0, "\(stop)")
            #expect(server.livingProcesses().isEmpty)
        }
    }

    // MARK: - Bad input

    @Test func unknownCommandOrFlagPrintsUsageAndExits2() async throws {
        try await withTestServer { server in
            let cases: [([String], String)] = [
                (["bogus"], "unknown command: bogus"),
                (["start", "--bogus"], "unknown flag: --bogus"),
                (["start", "-x"], "unknown flag: -x"),
                ([], "no command given"),
                (["start", "stop"], "more than one command"),
                (["stop", "-d"], "stop does not take -d"),
                (["start", "-g"], "start does not take -g"),
            ]
            for (arguments, message) in cases {
                let result = try await server.run(arguments)
                #expect(result.status == 2, "\(arguments): \(result)")
                #expect(result.errors.contains(message), "\(arguments): \(result)")
                #expect(result.errors.contains("Usage: "), "\(arguments): \(result)")
            }
            #expect(!fileExists(server.pidFile))
            #expect(server.livingProcesses().isEmpty)
        }
    }

    @Test func secondStartSaysAlreadyRunningAndStopWhenStoppedSaysNotRun() async throws {
        try await withTestServer { server in
            try await server.startDaemon()
            let master = try #require(server.masterPID())
            for arguments in [["start", "-d"], ["start"]] {
                let again = try await server.run(arguments)
                #expect(again.status == 1, "\(arguments): \(again)")
                #expect(again.all.contains("already running"), "\(arguments): \(again)")
            }
            #expect(server.masterPID() == master)

            // restart: the old master stops, a new one serves.
            let restart = try await server.run(["restart", "-d"])
            #expect(restart.status == 0, "\(restart)")
            let newMaster = try #require(server.masterPID())
            #expect(newMaster != master)
            #expect(!isAlive(master))
            try await server.waitUntilServing(3)

            let stop = try await server.run(["stop"])
            #expect(stop.status == 0, "\(stop)")
            for arguments in [["stop"], ["stop", "-g"], ["reload"], ["status"], ["connections"]] {
                let result = try await server.run(arguments)
                #expect(result.status == 1, "\(arguments): \(result)")
                #expect(result.all.contains("not run"), "\(arguments): \(result)")
            }
        }
    }

    @Test(arguments: ["WM_PID_FILE", "WM_LOG_FILE"])
    func unwritablePidOrLogPathFailsBeforeAnythingStarts(variable: String) async throws {
        try await withTestServer { server in
            let path = "\(server.directory)/missing/file"
            server.environment[variable] = path
            for arguments in [["start", "-d"], ["start"]] {
                let result = try await server.run(arguments)
                #expect(result.status != 0, "\(arguments): \(result)")
                #expect(result.errors.contains(path), "\(arguments): \(result)")
                #expect(result.errors.contains(variable == "WM_PID_FILE" ? "pid file" : "log file"), "\(arguments): \(result)")
                #expect(!result.output.contains("Start success"), "\(arguments): \(result)")
                #expect(server.livingProcesses().isEmpty, "\(arguments)")
                #expect(!fileExists(server.pidFile), "\(arguments)")
            }
            #expect(!fileExists("\(server.directory)/port"))
        }
    }

    @Test func unwritableStdoutFileFailsADaemonStartBeforeAnythingStarts() async throws {
        try await withTestServer { server in
            let path = "\(server.directory)/missing/stdout.log"
            server.environment["WM_STDOUT_FILE"] = path
            let result = try await server.run(["start", "-d"])
            #expect(result.status == 1, "\(result)")
            #expect(result.errors.contains("stdout file \(path)"), "\(result)")
            #expect(!result.output.contains("Start success"), "\(result)")
            #expect(!fileExists(server.pidFile))
            #expect(server.livingProcesses().isEmpty)
        }
    }

    @Test func listenAddressThatDoesNotParseIsNamedInTheError() {
        let cases: [(String, String)] = [
            ("tcp://127.0.0.1:99999", "port must be a number"),
            ("localhost", "expected scheme://host:port"),
            ("tcp:127.0.0.1:80", "expected // after the scheme"),
            ("tcp://:80", "empty host"),
        ]
        for (address, reason) in cases {
            do {
                _ = try Worker<RawCodec>(address)
                Issue.record("\(address) was accepted")
            } catch {
                #expect(error.code == .invalidAddress, "\(address): \(error)")
                #expect(error.description.contains(address), "\(address): \(error)")
                #expect(error.description.contains(reason), "\(address): \(error)")
            }
        }
        #expect(throws: TransportError.self) { try Worker<RawCodec>("udp://127.0.0.1:9000") }
    }

    @Test func portInUseFailsWithAClearErrorAndLeavesNoProcess() async throws {
        let holder = try PortHolder()
        try await withTestServer(["WM_PORT": String(holder.port)]) { server in
            for arguments in [["start", "-d"], ["start"]] {
                let result = try await server.run(arguments)
                #expect(result.status != 0, "\(arguments): \(result)")
                #expect(result.all.contains("127.0.0.1:\(holder.port)"), "\(arguments): \(result)")
                #expect(result.all.contains("in use"), "\(arguments): \(result)")
                #expect(!result.output.contains("Start success"), "\(arguments): \(result)")
                #expect(server.livingProcesses().isEmpty, "\(arguments)")
                #expect(!fileExists(server.pidFile), "\(arguments)")
            }
            #expect(server.log.contains("127.0.0.1:\(holder.port)"), "\(server.log)")
        }
    }

    @Test func failingOnWorkerStartIsLoggedAndBackedOff() async throws {
        try await withTestServer(["WM_FAIL_START": "1", "WM_COUNT": "1"]) { server in
            let start = try await server.run(["start", "-d"])
            #expect(start.status == 0, "\(start)")
            let began = monotonicSeconds()
            // Back-off doubles from 0.1 s: the fifth quick death waits 0.8 s.
            try await waitUntil("the back-off to reach 0.8 s", seconds: 8) { server.log.contains("restarting in 0.8 s") }
            let elapsed = monotonicSeconds() - began
            let log = server.log
            let exits = log.split(separator: "\n").filter { $0.contains("worker[echo:") && $0.contains("exit with status") }
            // A hot loop would have restarted hundreds of times by now; backed off, about five.
            #expect(exits.count >= 4 && exits.count <= 8, "\(exits.count) exits in \(elapsed) s:\n\(log)")
            #expect(elapsed >= 0.6, "back-off delays 0.1 + 0.2 + 0.4 s passed in \(elapsed) s")
            #expect(log.contains("onWorkerStart of echo"), "\(log)")
            #expect(log.contains("WM_FAIL_START is set"), "\(log)")
            for delay in ["0.1", "0.2", "0.4"] { #expect(log.contains("restarting in \(delay) s"), "\(log)") }
            // The exit status is counted (exit 250 = raw 64000) and the ticker keeps running.
            let status = try await server.status()
            let failing = status.exits.first { $0.first == "echo" }
            #expect(failing?[1] == "64000", "\(status.text)")
            #expect(failing.flatMap { Int($0[2]) }.map { $0 >= 4 } == true, "\(status.text)")
            #expect(status.rows(worker: "ticker").first?["state"] == "[idle]", "\(status.text)")
            // Stop works while a restart is pending.
            let stop = try await server.run(["stop"])
            #expect(stop.status == 0, "\(stop)")
            #expect(server.livingProcesses().isEmpty)
        }
    }
}
