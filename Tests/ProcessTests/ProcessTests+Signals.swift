// Signals sent to the master and children directly, not through the command line (Workerman 4.0.30+'s
// signal set), and `restart -d`.

import Testing
import WorkermanProcess

#if canImport(Glibc)
import Glibc
#endif

extension ProcessTests {
    /// Stop signals: INT, TERM, HUP and TSTP stop, QUIT stops gracefully.
    @Test(arguments: [SIGHUP, SIGTSTP, SIGTERM, SIGQUIT])
    func aStopSignalToTheMasterStopsEverythingAndRemovesThePidFile(signal: CInt) async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            let master = try #require(server.masterPID())
            let children = server.runningChildren().map(\.pid)
            let client = try Client(port: port)
            #expect(try client.echo("before") == "before")
            // Closed first: a graceful stop would otherwise wait for it until the graceful timeout.
            client.close()

            #expect(kill(master, signal) == 0)
            try await waitUntil("the master and its children to exit after signal \(signal)", seconds: 6) {
                !isAlive(master) && children.allSatisfy { !isAlive($0) }
            }
            #expect(!fileExists(server.pidFile))
            #expect(!fileExists(server.statusFile))
            #expect(server.log.contains(signal == SIGQUIT ? "gracefully stopping" : "] stopping ..."), "\(server.log)")
            #expect(server.log.contains("has been stopped"), "\(server.log)")
            #expect(!server.log.contains("killed"), "\(server.log)")
            #expect(server.livingProcesses().isEmpty)
            let again = try await server.run(["status"])
            #expect(again.status == 1 && again.all.contains("not run"), "\(again)")
        }
    }

    /// Workerman's status (SIGIOT = SIGABRT) and connections (SIGIO) signals, and SIGPIPE, kill nobody.
    @Test func statusConnectionsAndPipeSignalsKillNobody() async throws {
        try await withTestServer { server in
            let port = try await server.startDaemon()
            let master = try #require(server.masterPID())
            let children = Set(server.runningChildren().map(\.pid))
            let client = try Client(port: port)
            let served = try client.servingPID()

            for signal in [SIGABRT, SIGPIPE, SIGIO] {
                #expect(kill(master, signal) == 0)
                for child in children { #expect(kill(child, signal) == 0) }
            }
            // `connections` needs the master to relay SIGIO and every child to answer it. Pending standard
            // signals are delivered lowest number first (ABRT 6, PIPE 13, IO 29), so a process that answers
            // has already survived the others.
            let connections = try await server.run(["connections"])
            #expect(connections.status == 0, "\(connections)")
            #expect(!connections.output.contains("[busy]"), "\(connections)")
            #expect(connections.output.split(separator: "\n").contains { $0.hasPrefix("\(served) ") }, "\(connections)")
            #expect(isAlive(master))
            #expect(Set(server.runningChildren().map(\.pid)) == children)
            // Nor is SIGABRT taken for a crash: the Swift runtime's backtracer, which catches it when nobody
            // else does, prints a "Program crashed" backtrace into the daemon's output (while the default
            // action, without the backtracer, ends the process).
            #expect(!(readFile(server.stdoutFile) ?? "").contains("crashed"), "\(readFile(server.stdoutFile) ?? "")")
            #expect(try client.echo("alive") == "alive")
            let status = try await server.status()
            #expect(status.exits == [["echo", "0", "0"], ["ticker", "0", "0"]], "\(status.text)")
        }
    }

    /// A child that is still starting (running `main` before `runAll()`) when a control signal arrives
    /// handles it once its loop runs instead of dying of the signal's default action.
    @Test func aSignalToAChildStillStartingWaitsForItsLoop() async throws {
        try await withTestServer(["WM_COUNT": "1"]) { server in
            let port = try await server.startDaemon(processes: 2)
            let master = try #require(server.masterPID())
            let echo = try #require(server.echoChildren().first)
            // From now on a new child spends its first second in `main`, before runAll().
            try writeFile("\(server.directory)/slow-start", "1\n")
            #expect(kill(echo, SIGKILL) == 0)
            var starting: pid_t?
            try await waitUntil("the replacement to be spawned", seconds: 5) {
                starting = descendants(of: master).first { pid in
                    pid != echo && !server.runningChildren().contains { $0.pid == pid }
                }
                return starting != nil
            }
            let child = try #require(starting)
            server.track(child)
            // Before its loop runs: each of these would end the process by its default action.
            for signal in [SIGIO, SIGABRT] { #expect(kill(child, signal) == 0) }
            try await waitUntil("the replacement to serve", seconds: 5) { server.echoChildren() == [child] }
            #expect(try Client(port: port).servingPID() == child)
            #expect(isAlive(child))
            // The SIGIO was handled once the loop ran: the child wrote its (empty) `connections` answer.
            try await waitUntil("the child's connections answer", seconds: 5) {
                fileExists("\(server.statusFile).connections.\(child)")
            }
            let status = try await server.status()
            #expect(status.exits.first { $0.first == "echo" && $0[1] != "0" && $0[1] != "9" } == nil, "\(status.text)")
        }
    }

    @Test(arguments: [["restart", "-d"], ["restart", "-d", "-g"]])
    func restartDaemonLeavesANewDaemonMasterAndNoOldProcess(arguments: [String]) async throws {
        try await withTestServer { server in
            try await server.startDaemon()
            let oldMaster = try #require(server.masterPID())
            let oldChildren = server.runningChildren().map(\.pid)
            unlink("\(server.directory)/port")

            let restart = try await server.run(arguments, seconds: 15)
            #expect(restart.status == 0, "\(restart)")
            #expect(restart.all.contains("stop success"), "\(restart)")
            #expect(restart.output.contains("Start success."), "\(restart)")
            let master = try #require(server.masterPID())
            #expect(master != oldMaster)
            #expect(!isAlive(oldMaster))
            #expect(oldChildren.allSatisfy { !isAlive($0) })
            // Daemonised: not the command's child nor ours, in a session of its own; the command has ended.
            #expect(parentPID(master) != restart.pid && parentPID(master) != getpid())
            #expect(sessionID(master) == master)
            #expect(commandLine(master).hasPrefix("WorkerMan: master process  start_file="), "\(commandLine(master))")
            let port = try await server.waitForPort()
            let children = try await server.waitUntilServing(3)
            #expect(Set(children).isDisjoint(with: oldChildren))
            #expect(try Client(port: port).echo("restarted") == "restarted")
            #expect(server.logCount("start in DAEMON mode") == 2, "\(server.log)")
        }
    }
}
