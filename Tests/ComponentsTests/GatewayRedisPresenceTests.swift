// Gateway presence on Redis as sets with expiry, in one process: two gateways (two "processes") on one
// redis-server; queries are unions over the live processes' sets; one gateway that vanishes without a
// goodbye (as a crash: its renewals stop, its keys stay) is forgotten within 3 renewals; a clean stop
// forgets at once; the async forms answer the same. The SIGKILL of a real process is in GatewayDemoTests.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@testable import WorkermanComponents

@Suite("Gateway presence on Redis: sets with expiry", .enabled(if: RedisProcess.isInstalled, "redis-server is not installed"))
struct GatewayRedisPresenceTests {
    @Test("unions over live processes; a silent process's clients expire within 3 renewals; async forms", .timeLimit(.minutes(2)))
    func presence() throws {
        let redis = try RedisProcess()
        defer { redis.stop() }
        let testLoop = try TestLoop()
        var configuration = Gateway.Configuration()
        configuration.presenceInterval = 0.3
        let backend = ChannelBackendKind.redis(redis.address, prefix: "p\(getpid()):")
        let one = Gateway(loop: testLoop.loop, backend: backend, configuration: configuration)
        var two: Gateway? = Gateway(loop: testLoop.loop, backend: backend, configuration: configuration)
        #expect(one.redisPresence != nil)
        let a = one.add(connection: 1, send: { _ in })
        let b = two!.add(connection: 1, send: { _ in })
        let c = two!.add(connection: 2, send: { _ in })
        one.bind(a, user: "alice")
        two!.bind(b, user: "bob")
        two!.bind(c, user: "carol")
        one.join(a, group: "g")
        two!.join(b, group: "g")

        // Asked of the process that holds neither bob nor carol: the answer comes from Redis.
        var answer: (Int, [String], Bool, Int)?
        try testLoop.run(until: "presence through Redis: \(String(describing: answer))") {
            one.count(group: "g") { count in
                one.users(inGroup: "g") { users in
                    one.isOnline(user: "carol") { online in one.count { answer = (count, users, online, $0) } }
                }
            }
            return answer.map { $0 == (2, ["alice", "bob"], true, 3) } ?? false
        }
        var clients: [String]?
        one.clients(ofUser: "bob") { clients = $0 }
        try testLoop.run(until: "bob's clients") { clients != nil }
        #expect(clients == [b])

        // The async forms, on the loop.
        var asyncAnswer: (Bool, Int, [String], Int)?
        testLoop.loop.task { _ in
            asyncAnswer = (
                try await one.isOnline(user: "bob"), try await one.count(group: "g"), try await one.users(inGroup: "g"),
                try await one.count()
            )
        }
        try testLoop.run(until: "the async answers") { asyncAnswer != nil }
        #expect(asyncAnswer.map { $0 == (true, 2, ["alice", "bob"], 3) } == true)

        // The second process goes away without a word (its renewals stop, its keys stay in Redis).
        two = nil
        let gone = MonotonicClock.now()
        var online = true
        try testLoop.run(until: "bob forgotten") {
            one.isOnline(user: "bob") { online = $0 }
            return !online
        }
        let seconds = Double(MonotonicClock.now() - gone) / 1e9
        #expect(seconds < 0.3 * 3 + 0.5, "forgotten within 3 renewals (0.9 s) plus a round trip: \(seconds) s")
        var count = 0
        try testLoop.run(until: "the group without bob") {
            one.count(group: "g") { count = $0 }
            return count == 1
        }

        // A clean stop deletes this process's sets at once.
        one.stop()
        let watcher = Gateway(loop: testLoop.loop, backend: backend, configuration: configuration)
        var aliceOnline = true
        try testLoop.run(until: "alice gone after the stop", seconds: 0.5) {
            watcher.isOnline(user: "alice") { aliceOnline = $0 }
            return !aliceOnline
        }
        watcher.stop()
    }
}
