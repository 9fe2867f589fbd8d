// The components over real processes: the component test server (Tests/ComponentsTestServer) started as
// a Workerman program, driven from the test's own loop, stopped and killed by pid in a defer.

import Testing
import WorkermanEventLoop
import WorkermanTransport

@testable import WorkermanComponents

#if canImport(Glibc)
import Glibc
#endif

private let program = "WorkermanComponentsTestServer"

/// A test-side Channel client that asks the workers' clients to prove they are subscribed: it publishes
/// "probe" on "control" until `count` distinct processes answered on "ready". An answer travels on the
/// same connection as the worker's subscriptions, so it proves the broker has them.
private final class Prober {
    let client: ChannelClient
    var ready: Set<Int> = []

    init(_ client: ChannelClient) {
        self.client = client
        client.on("ready") { [unowned self] pid in self.ready.insert(pid.intValue ?? 0) }
    }

    func waitForReady(_ count: Int, on testLoop: TestLoop, seconds: Double = 20) throws -> Set<Int> {
        ready.removeAll()
        var lastProbe = 0.0
        try testLoop.run(until: "\(count) processes answering the probe (have \(ready.count))", seconds: seconds) {
            if self.ready.count < count, monotonicSeconds() - lastProbe > 0.05 {
                lastProbe = monotonicSeconds()
                self.client.publish("control", "probe")
            }
            return self.ready.count >= count
        }
        return ready
    }
}

private func channelClient(_ loop: EventLoop, _ backend: ChannelBackendKind) -> ChannelClient {
    var configuration = ChannelClient.Configuration(backend: backend)
    configuration.reconnectInterval = 0.2
    let client = ChannelClient(loop: loop, configuration: configuration)
    client.log = { _ in }
    return client
}

/// The test program running the Channel `scenario` in 2 worker processes beside its Channel server on a
/// free port, with all 3 children up, and a client of that server on a fresh test loop.
private struct ChannelScenario {
    let server: ServerProcess
    let testLoop: TestLoop
    let client: ChannelClient

    init(_ scenario: String) throws {
        let port = try freePort()
        let server = try ServerProcess(
            program: program,
            environment: ["WM_SCENARIO": scenario, "WM_CHANNEL_PORT": "\(port)", "WM_COUNT": "2"]
        )
        do {
            try server.waitForChildren(3)
            testLoop = try TestLoop()
        } catch {
            server.stop()
            throw error
        }
        self.server = server
        client = channelClient(testLoop.loop, .server("127.0.0.1:\(port)"))
    }

    /// Closes the client, then stops the program (the order the tests' defers had).
    func stop() {
        client.close()
        server.stop()
    }
}

@Suite("Components over real processes", .serialized)
struct ComponentProcessTests {
    @Test("GlobalData: two processes, 10,000 increments and 10,000 cas each under contention, lose no update", .timeLimit(.minutes(4)))
    func globalDataContention() throws {
        let port = try freePort()
        let server = try ServerProcess(
            program: program,
            environment: ["WM_SCENARIO": "globaldata", "WM_GD_PORT": "\(port)", "WM_COUNT": "2", "WM_ITERATIONS": "10000"]
        )
        defer { server.stop() }
        try waitUntil("both counter processes to finish\n\(server.output)", seconds: 200) {
            guard isAlive(server.pid) else { throw HarnessError("the server exited:\n\(server.output)") }
            return access("\(server.directory)/done-0", F_OK) == 0 && access("\(server.directory)/done-1", F_OK) == 0
        }
        let client = try GlobalDataBlockingClient(servers: ["127.0.0.1:\(port)"])
        #expect(try client.get("inc") == 20_000)
        #expect(try client.get("cas") == 20_000)
        // The async process (id 0) and the blocking one (id 1) both had to retry some cas: real contention.
        let retries = (0..<2).map { lines("\(server.directory)/done-\($0)").first ?? "" }
        #expect(retries.count == 2, "\(retries)")
    }

    @Test("Channel: every message exactly once per subscriber, across 2 worker processes", .timeLimit(.minutes(2)))
    func channelExactlyOnce() throws {
        let scenario = try ChannelScenario("channel")
        defer { scenario.stop() }
        let (server, testLoop, publisher) = (scenario.server, scenario.testLoop, scenario.client)
        let prober = Prober(publisher)
        let subscribers = try prober.waitForReady(2, on: testLoop)
        let count = 2000
        for index in 0..<count { publisher.publish("news", PHPValue("m\(index)")) }
        try testLoop.run(until: "\(count) messages in each subscriber", seconds: 60) {
            subscribers.allSatisfy { lines("\(server.directory)/news-\($0)").count >= count }
        }
        // A probe behind the messages: once answered, anything duplicated would have arrived.
        _ = try prober.waitForReady(2, on: testLoop)
        for pid in subscribers {
            #expect(lines("\(server.directory)/news-\(pid)") == (0..<count).map { "m\($0)" }, "subscriber \(pid)")
        }
    }

    @Test("Channel queue mode: each job to exactly one of 2 consumer processes", .timeLimit(.minutes(2)))
    func queueExactlyOnce() throws {
        let scenario = try ChannelScenario("queue")
        defer { scenario.stop() }
        let (server, testLoop, producer) = (scenario.server, scenario.testLoop, scenario.client)
        let consumers = try Prober(producer).waitForReady(2, on: testLoop)
        let count = 500
        for job in 0..<count { producer.enqueue("jobs", PHPValue("j\(job)")) }
        func taken() -> [[String]] { consumers.map { lines("\(server.directory)/jobs-\($0)") } }
        try testLoop.run(until: "\(count) jobs taken", seconds: 60) { taken().joined().count >= count }
        try testLoop.run(for: 0.3)
        let all = taken()
        #expect(all.joined().count == count)
        #expect(Set(all.joined()) == Set((0..<count).map { "j\($0)" }))
        #expect(all.allSatisfy { !$0.isEmpty }, "both consumers take jobs: \(all.map(\.count))")
    }

    @Test("Channel: after the Channel server is killed and restarted, no subscription is lost", .timeLimit(.minutes(2)))
    func reconnectAfterKill() throws {
        let scenario = try ChannelScenario("channel")
        defer { scenario.stop() }
        let (server, testLoop, publisher) = (scenario.server, scenario.testLoop, scenario.client)
        let prober = Prober(publisher)
        let subscribers = try prober.waitForReady(2, on: testLoop)
        let pidFile = "\(server.directory)/channel-server.pid"
        guard let first = readFile(pidFile).flatMap({ pid_t($0.filter(\.isNumber)) }) else {
            throw HarnessError("no Channel server pid")
        }
        kill(first, SIGKILL)
        try waitUntil("a new Channel server", seconds: 20) {
            guard let pid = readFile(pidFile).flatMap({ pid_t($0.filter(\.isNumber)) }) else { return false }
            return pid != first && isAlive(pid)
        }
        // The subscribers reconnect (every second) and subscribe again; the probe proves it.
        #expect(try prober.waitForReady(2, on: testLoop, seconds: 30) == subscribers)
        let count = 500
        for pid in subscribers { unlink("\(server.directory)/news-\(pid)") }
        for index in 0..<count { publisher.publish("news", PHPValue("after\(index)")) }
        try testLoop.run(until: "\(count) messages after the restart", seconds: 30) {
            subscribers.allSatisfy { lines("\(server.directory)/news-\($0)").count >= count }
        }
        _ = try prober.waitForReady(2, on: testLoop)
        for pid in subscribers {
            #expect(lines("\(server.directory)/news-\(pid)") == (0..<count).map { "after\($0)" })
            #expect(lines("\(server.directory)/connects-\(pid)").count >= 2)
        }
    }

    @Test(
        "Channel through Redis: two masters (two machines), every message exactly once in each of their 4 processes",
        .enabled(if: RedisProcess.isInstalled, "redis-server is not installed"),
        .timeLimit(.minutes(2))
    )
    func redisAcrossMasters() throws {
        let redis = try RedisProcess()
        defer { redis.stop() }
        let prefix = "m\(UInt32.random(in: 0...UInt32.max)):"
        let environment = ["WM_SCENARIO": "channel", "WM_REDIS": redis.address, "WM_REDIS_PREFIX": prefix, "WM_COUNT": "2"]
        let machineA = try ServerProcess(program: program, environment: environment)
        defer { machineA.stop() }
        let machineB = try ServerProcess(program: program, environment: environment)
        defer { machineB.stop() }
        try machineA.waitForChildren(2)
        try machineB.waitForChildren(2)
        let testLoop = try TestLoop()
        let publisher = channelClient(testLoop.loop, .redis(redis.address, prefix: prefix))
        defer { publisher.close() }
        let prober = Prober(publisher)
        let subscribers = try prober.waitForReady(4, on: testLoop)
        let count = 1000
        for index in 0..<count { publisher.publish("news", PHPValue("r\(index)")) }
        func file(_ pid: Int) -> String {
            access("\(machineA.directory)/news-\(pid)", F_OK) == 0 ? "\(machineA.directory)/news-\(pid)" : "\(machineB.directory)/news-\(pid)"
        }
        try testLoop.run(until: "\(count) messages in each of 4 subscribers", seconds: 60) {
            subscribers.allSatisfy { lines(file($0)).count >= count }
        }
        _ = try prober.waitForReady(4, on: testLoop)
        for pid in subscribers { #expect(lines(file(pid)) == (0..<count).map { "r\($0)" }, "subscriber \(pid)") }
        let perMachine = subscribers.map { access("\(machineA.directory)/news-\($0)", F_OK) == 0 }
        #expect(perMachine.filter { $0 }.count == 2)
    }

    @Test("FileMonitor: a burst of 20 file writes makes exactly one reload", arguments: ["inotify", "polling"])
    func fileMonitorBurst(method: String) throws {
        let directory = try makeTemporaryDirectory("wm-filemonitor")
        let watched = "\(directory)/watched"
        mkdir(watched, 0o755)
        let server = try ServerProcess(
            program: program,
            environment: ["WM_SCENARIO": "filemonitor", "WM_WATCH_DIR": watched, "WM_COUNT": "1", "WM_POLLING": method == "polling" ? "1" : "0"],
            directory: directory
        )
        defer { server.stop() }
        try server.waitForChildren(2)
        try waitUntil("the monitor to watch\n\(server.output)") { server.output.contains("FileMonitor: watching") }
        func count(_ text: String, in log: String) -> Int { log.split(separator: "\n").filter { $0.contains(text) }.count }
        for index in 0..<20 { try writeFile("\(watched)/file\(index).swift", "let x = \(index)\n") }
        try waitUntil("one reload to finish\n\(server.log)", seconds: 20) { count("reload done", in: server.log) == 1 }
        #expect(server.output.contains("FileMonitor: 20 change(s)"))
        // A later single write makes the second reload: had the burst made two, this would be the third.
        try writeFile("\(watched)/sentinel.swift", "// again\n")
        try waitUntil("the second reload\n\(server.log)", seconds: 20) { count("reload done", in: server.log) == 2 }
        #expect(count("gracefully reloading", in: server.log) == 2)
        #expect(count("graceful reload #", in: server.output) == 2)
        #expect(server.output.contains("FileMonitor: 1 change(s) (\(watched)/sentinel.swift): graceful reload #2"))
    }

    @Test("FileMonitor does not watch in daemon mode (unless told to)")
    func fileMonitorDaemon() throws {
        let directory = try makeTemporaryDirectory("wm-filemonitor")
        let watched = "\(directory)/watched"
        mkdir(watched, 0o755)
        let server = try ServerProcess(
            program: program,
            environment: ["WM_SCENARIO": "filemonitor", "WM_WATCH_DIR": watched, "WM_COUNT": "1"],
            directory: directory,
            arguments: ["start", "-d"]
        )
        defer { server.stop() }
        let stdout = "\(directory)/stdout.log"
        try waitUntil("the monitor's word in daemon mode", seconds: 20) {
            (readFile(stdout) ?? "").contains("FileMonitor: not watching in daemon mode")
        }
        try writeFile("\(watched)/ignored.swift", "x")
        guard let master = server.masterPID else { throw HarnessError("no daemon master") }
        // Nothing reloads: the master's log shows no reload while the file change has long been visible
        // to any watcher (a stat of the file proves the write landed).
        #expect(access("\(watched)/ignored.swift", F_OK) == 0)
        let quiet = monotonicSeconds() + 1.0
        try waitUntil("a second to pass", seconds: 5) { monotonicSeconds() >= quiet }
        #expect(!server.log.contains("reloading"))
        #expect(isAlive(master))
    }
}
