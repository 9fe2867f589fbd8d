// Push by user and group (the Gateway component) as the demo uses it: two demo masters sharing one
// redis-server, real WebSocket clients on each, pushes through the web worker's /api/push, and presence
// that forgets a process killed with SIGKILL.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// `GET url` with curl; the body.
func httpGet(_ url: String) throws -> String {
    guard let curl = findExecutable("curl") else { throw HarnessError("curl is not installed") }
    let directory = try makeTemporaryDirectory("wm-curl")
    defer { removeDirectory(directory) }
    let pid = try spawn(curl, ["-s", "--max-time", "5", url], environment: [:], output: "\(directory)/body")
    guard reap(pid, seconds: 10) == 0 else { throw HarnessError("curl \(url) failed") }
    return readFile("\(directory)/body") ?? ""
}

@Suite(
    "Gateway: push by user and group across two demo masters sharing one redis-server",
    .serialized,
    .enabled(if: RedisProcess.isInstalled && findExecutable("curl") != nil, "needs redis-server and curl (apt-get install redis-server curl)")
)
struct GatewayDemoTests {
    @Test("to a user and a group on the other master; presence; a SIGKILLed process's clients vanish", .timeLimit(.minutes(3)))
    func acrossMasters() throws {
        let redis = try RedisProcess()
        defer { redis.stop() }
        // Renewed every 0.5 s, so a dead process is forgotten within 1.5 s.
        let extra = ["PUSH_REDIS": redis.address, "PUSH_PREFIX": "t\(getpid()):", "PUSH_INTERVAL": "0.5"]
        let first = try ChatDemo(chatCount: 2, extra: extra)
        defer { first.stop() }
        let second = try ChatDemo(chatCount: 2, extra: extra)
        defer { second.stop() }
        let testLoop = try TestLoop()

        let alice = try ChatPeer(testLoop.loop, port: first.chatPort, name: "alice", room: "ops")
        let bob = try ChatPeer(testLoop.loop, port: second.chatPort, name: "bob", room: "ops")
        let carol = try ChatPeer(testLoop.loop, port: second.chatPort, name: "carol", room: "lobby")
        let peers = [alice, bob, carol]
        try testLoop.run(until: "every client's join", seconds: 30) { peers.allSatisfy(\.hasJoined) }

        // Presence as the other master sees it: alice is on the first, reached through Redis.
        let web = "http://127.0.0.1:\(second.webPort)"
        try waitUntil("alice online as the second master sees her", seconds: 10) {
            try httpGet("\(web)/api/online?user=alice").contains(#""online":true"#)
        }
        try waitUntil("group ops with alice and bob", seconds: 10) {
            try httpGet("\(web)/api/group?name=ops") == #"{"group":"ops","count":2,"users":["alice","bob"]}"#
        }
        #expect(try httpGet("\(web)/api/online?user=nobody").contains(#""online":false"#))

        func pushes(_ peer: ChatPeer) -> [String] { peer.lines.filter { $0.hasPrefix("[push] ") } }

        // To a user on the other master.
        _ = try httpGet("\(web)/api/push?user=alice&text=hello-alice")
        try testLoop.run(until: "alice's push") { pushes(alice) == ["[push] hello-alice"] }
        // To a group spread over both masters.
        _ = try httpGet("http://127.0.0.1:\(first.webPort)/api/push?group=ops&text=to-ops")
        try testLoop.run(until: "the group push at alice and bob") {
            pushes(alice).contains("[push] to-ops") && pushes(bob).contains("[push] to-ops")
        }
        // A private message from a chat client, across masters.
        carol.send("/msg alice psst")
        try testLoop.run(until: "carol's message at alice") { pushes(alice).contains("[push] carol to alice: psst") }
        try testLoop.run(for: 0.3)
        #expect(pushes(carol) == ["[push] carol to alice: psst"], "carol sees what she sent, and not the ops push")
        #expect(pushes(alice).count == 3 && pushes(bob) == ["[push] to-ops"], "each push once")

        // alice's process dies without a word: the second master forgets her within the bound.
        guard let pid = alice.pid else { throw HarnessError("alice has no pid") }
        kill(pid, SIGKILL)
        let killed = monotonicSeconds()
        try waitUntil("alice offline after her process died", seconds: 10) {
            try httpGet("\(web)/api/online?user=alice").contains(#""online":false"#)
        }
        #expect(monotonicSeconds() - killed < 3, "forgotten within 3 renewals (1.5 s) plus a poll")
        #expect(try httpGet("\(web)/api/group?name=ops") == #"{"group":"ops","count":1,"users":["bob"]}"#)
    }

    @Test("Redis down: chat clients are told pushes wait, and told again when it is back", .timeLimit(.minutes(2)))
    func redisDown() throws {
        let port = try freePort()
        var redis = try RedisProcess(port: port)
        defer { redis.stop() }
        let demo = try ChatDemo(chatCount: 1, extra: ["PUSH_REDIS": redis.address])
        defer { demo.stop() }
        let testLoop = try TestLoop()
        let peer = try ChatPeer(testLoop.loop, port: demo.chatPort, name: "dave", room: nil)
        try testLoop.run(until: "dave's join", seconds: 30) { peer.hasJoined }
        redis.stop()
        try testLoop.run(until: "told Redis is gone: \(peer.lines)", seconds: 10) { peer.errors.contains { $0.contains("lost the push server (Redis)") } }
        // Chat still works without Redis.
        peer.send("still here")
        try testLoop.run(until: "the chat message without Redis") { peer.messages.contains { $0.text == "still here" } }
        redis = try RedisProcess(port: port)
        try testLoop.run(until: "told Redis is back", seconds: 10) { peer.lines.contains("* the push server (Redis) is back") }
        _ = try httpGet("http://127.0.0.1:\(demo.webPort)/api/push?user=dave&text=after")
        try testLoop.run(until: "a push after Redis came back") { peer.lines.contains("[push] after") }
    }
}
