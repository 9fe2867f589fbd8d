import Testing
import WorkermanEventLoop
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

@Suite("Redis client on RESP3 (HELLO 3) against a real redis-server", .enabled(if: RedisServerProcess.binary != nil, "redis-server is not installed"))
struct RedisRESP3Tests {
    static func resp3() -> RedisConfiguration {
        var configuration = RedisConfiguration()
        configuration.protocolVersion = .resp3
        return configuration
    }

    @Test("HELLO 3 is negotiated; typed replies (maps, sets, doubles) read through the same helpers")
    func typedReplies() throws {
        let fixture = try RedisFixture(configuration: Self.resp3())
        defer { fixture.finish() }
        let redis = fixture.redis
        #expect(redis.protocolInUse == .resp3)
        #expect(redis.serverInfo["proto"] == "3" && redis.serverInfo["server"] == "redis")
        _ = try fixture.value("HSET") { redis.hset("h", ["a": "1", "b": "2"], $0) }
        let raw = try fixture.value("raw HGETALL") { redis.send(["HGETALL", "h"], $0) }.get()
        guard case .map(let pairs) = raw else { throw TestError("HGETALL answered \(raw), not a map") }
        #expect(pairs.count == 2)
        #expect(try fixture.value("HGETALL") { redis.hgetall("h", $0) }.get() == ["a": "1", "b": "2"])
        _ = try fixture.value("SADD") { redis.sadd("s", ["x", "y"], $0) }
        let smembers = try fixture.value("raw SMEMBERS") { redis.send(["SMEMBERS", "s"], $0) }.get()
        if case .set(let members) = smembers {
            #expect(members.count == 2)
        } else {
            Issue.record("SMEMBERS is not a set on RESP3")
        }
        #expect(try fixture.value("SMEMBERS") { redis.smembers("s", $0) }.get().sorted() == ["x", "y"])
        _ = try fixture.value("ZADD") { redis.zadd("z", [(1.5, "one"), (2.25, "two")], $0) }
        #expect(try fixture.value("raw ZSCORE") { redis.send(["ZSCORE", "z", "one"], $0) }.get() == .double(1.5))
        #expect(try fixture.value("ZSCORE") { redis.zscore("z", "two", $0) }.get() == 2.25)
        let ranked = try fixture.value("ZRANGE WITHSCORES") { redis.zrangeWithScores("z", 0, -1, $0) }.get()
        #expect(ranked.map(\.member) == ["one", "two"] && ranked.map(\.score) == [1.5, 2.25])
        #expect(try fixture.value("GET missing") { redis.get("nothing", $0) }.get() == nil, "RESP3's _ null")
        let results = try fixture.value("transaction") { redis.transaction([["INCR", "n"], ["HGETALL", "h"]], $0) }.get()
        #expect(results.first == .integer(1))
    }

    @Test("a subscribed RESP3 connection keeps running commands; messages arrive as pushes in between")
    func pubSubOnOneConnection() throws {
        let fixture = try RedisFixture(configuration: Self.resp3())
        defer { fixture.finish() }
        let redis = fixture.redis
        var messages: [String] = []
        var subscribed = false
        redis.subscribe(["news"], subscribed: { subscribed = true }) { messages.append($0.string) }
        try fixture.run("the subscription") { subscribed }
        // The same connection: a command, a publish to itself, another command, all answered in order.
        _ = try fixture.value("SET while subscribed") { redis.set("k", to: "v", $0) }
        #expect(try fixture.value("PUBLISH") { redis.publish("news", "hello", $0) }.get() == 1)
        #expect(try fixture.value("GET while subscribed") { redis.get("k", $0) }.get() == "v")
        try fixture.run("the message") { messages == ["hello"] }
        let replies = try fixture.value("a pipeline while subscribed") { completion in
            redis.pipeline([["PUBLISH", "news", "again"], ["GET", "k"]]) { completion(.success($0)) }
        }.get()
        #expect(try replies[1].get() == .bulkString("v"))
        try fixture.run("the second message") { messages == ["hello", "again"] }
    }

    @Test("client-side caching: CLIENT TRACKING invalidations reach onPush")
    func invalidations() throws {
        let fixture = try RedisFixture(configuration: Self.resp3())
        defer { fixture.finish() }
        let redis = fixture.redis
        var pushes: [RESPValue] = []
        redis.onPush = { pushes.append($0) }
        _ = try fixture.value("CLIENT TRACKING ON") { redis.send(["CLIENT", "TRACKING", "ON"], $0) }
        _ = try fixture.value("SET") { redis.set("cached", to: "1", $0) }
        _ = try fixture.value("GET (now tracked)") { redis.get("cached", $0) }
        let writer = try RedisClient(loop: fixture.loop, address: fixture.server.address)
        writer.connect()
        defer { writer.close() }
        _ = try fixture.value("SET from another client") { writer.set("cached", to: "2", $0) }
        try fixture.run("the invalidation push: \(pushes)") {
            pushes.contains { $0.array?.first?.string == "invalidate" && $0.array?.last?.array == [.bulkString("cached")] }
        }
    }

    @Test("a server that refuses HELLO leaves the client on RESP2, working")
    func fallback() throws {
        // A server where HELLO is an unknown command (as on Redis before 6).
        let server = try RedisServerProcess(options: ["--rename-command", "HELLO", ""])
        defer { server.stop() }
        let harness = try LoopHarness()
        defer { _ = harness.finish() }
        let client = try RedisClient(loop: harness.loop, address: server.address, configuration: Self.resp3())
        client.connect()
        defer { client.close() }
        #expect(try harness.run(until: { client.isConnected }, within: 10, interval: 0.001), "connects anyway")
        #expect(client.protocolInUse == .resp2)
        var pong: Result<RESPValue, RedisError>?
        client.send(["PING"]) { pong = $0 }
        #expect(try harness.run(until: { pong != nil }, within: 10, interval: 0.001))
        #expect(try pong?.get() == .simpleString("PONG"))
    }
}
