import Testing
import WorkermanEventLoop
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

@Suite("Redis client connections: pub/sub, AUTH/SELECT, reconnect, pool (real redis-server)",
       .enabled(if: RedisServerProcess.binary != nil, "redis-server is not installed"))
struct RedisConnectionTests {
    @Test("subscribe and psubscribe deliver messages; subscriptions come back after a server restart")
    func pubSubAcrossRestart() throws {
        var configuration = RedisConfiguration()
        configuration.reconnectDelay = 0.05
        let fixture = try RedisFixture(configuration: configuration)
        defer { fixture.finish() }
        let publisher = try RedisClient(loop: fixture.loop, address: fixture.server.address, configuration: configuration)
        publisher.connect()
        defer { publisher.close() }
        var received: [RedisPubSubMessage] = []
        var confirmed = 0
        fixture.redis.subscribe(["news", "sport"], subscribed: { confirmed += 1 }) { received.append($0) }
        fixture.redis.psubscribe(["user.*"], subscribed: { confirmed += 1 }) { received.append($0) }
        try fixture.run("subscriptions confirmed") { confirmed == 2 && publisher.isConnected }
        publisher.publish("news", "hello")
        publisher.publish("user.7", ByteBuffer([1, 2, 3]))
        publisher.publish("ignored", "x")
        try fixture.run("two messages") { received.count == 2 }
        #expect(received[0] == RedisPubSubMessage(channel: "news", pattern: nil, payload: ByteBuffer("hello")))
        #expect(received[1] == RedisPubSubMessage(channel: "user.7", pattern: "user.*", payload: ByteBuffer([1, 2, 3])))
        // PING works on a subscriber connection.
        #expect(try fixture.value("PING as subscriber") { fixture.redis.send(["PING"], $0) }.get().array?.first?.string == "pong")

        fixture.server.kill()
        try fixture.run("the clients to notice") { !fixture.redis.isConnected && !publisher.isConnected }
        try fixture.server.start()
        try fixture.run("both back") { fixture.redis.isConnected && publisher.isConnected }
        var delivered = 0
        // Re-subscription is asynchronous: publish until someone hears it.
        let timer = try fixture.loop.addTimer(every: 0.02) { publisher.publish("sport", "again") { delivered = (try? $0.get()) ?? 0 } }
        try fixture.run("a message after the restart") { delivered > 0 && received.count >= 3 }
        fixture.loop.cancelTimer(timer)
        #expect(received[2].channel == "sport" && received[2].string == "again")
    }

    @Test("a server killed mid-pipeline fails the calls in flight with a clear error; the client reconnects")
    func restartMidPipeline() throws {
        var configuration = RedisConfiguration()
        configuration.reconnectDelay = 0.05
        let fixture = try RedisFixture(configuration: configuration)
        defer { fixture.finish() }
        let count = 10_000
        var results: [Result<RESPValue, RedisError>]?
        var closes: [RedisError] = []
        fixture.redis.onClose = { closes.append($0) }
        // A script in the middle of the pipeline holds the server far longer than writing the rest takes
        // (even in a sanitized build), so the commands after it are surely unanswered when the server dies.
        var commands = (0..<count).map { RedisCommand("INCR", RedisArgument("n\($0 % 10)")) }
        commands.insert(RedisCommand("EVAL", "local i = 0 while i < 200000000 do i = i + 1 end return i", "0"), at: count / 2)
        fixture.redis.pipeline(commands) { results = $0 }
        fixture.server.kill()
        try fixture.run("the pipeline to fail") { results != nil }
        let failures = results!.compactMap { result -> RedisError? in if case .failure(let error) = result { error } else { nil } }
        #expect(!failures.isEmpty)
        #expect(failures.allSatisfy { $0.code == .connection && $0.detail.contains(fixture.server.address) })
        #expect(closes.first?.code == .connection)
        // Commands issued while it is down fail (each attempt fails the ones waiting for it), never hang.
        var whileDown: Result<String?, RedisError>?
        fixture.redis.get("n1") { whileDown = $0 }
        try fixture.run("a command while down") { whileDown != nil }
        try fixture.server.start()
        try fixture.run("the client to reconnect", seconds: 15) { fixture.redis.isConnected }
        #expect(try fixture.value("SET after restart") { fixture.redis.set("back", to: "yes", $0) }.get() == true)
        #expect(try fixture.value("GET after restart") { fixture.redis.get("back", $0) }.get() == "yes")
    }

    @Test("AUTH with a password and SELECT of a database; a wrong password fails the handshake")
    func authAndSelect() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        _ = try fixture.value("CONFIG SET requirepass") { fixture.redis.send(["CONFIG", "SET", "requirepass", "s3cret"], $0) }
        var configuration = RedisConfiguration()
        configuration.password = "s3cret"
        configuration.database = 3
        let authed = try RedisClient(loop: fixture.loop, address: fixture.server.address, configuration: configuration)
        authed.connect()
        defer { authed.close() }
        _ = try fixture.value("SET in db 3") { authed.set("where", to: "three", $0) }
        #expect(try fixture.value("db 3 size") { authed.dbsize($0) }.get() == 1)
        #expect(try fixture.value("db 0 has nothing") { fixture.redis.get("where", $0) }.get() == nil)

        configuration.password = "wrong"
        let refused = try RedisClient(loop: fixture.loop, address: fixture.server.address, configuration: configuration)
        var reason: RedisError?
        refused.onClose = { reason = $0 }
        var queued: Result<String?, RedisError>?
        refused.connect()
        refused.get("where") { queued = $0 }
        try fixture.run("the handshake to fail") { reason != nil && queued != nil }
        #expect(reason?.code == .handshake)
        #expect(reason?.detail.contains("AUTH") == true)
        if case .failure(let error) = queued { #expect(error.code == .handshake) } else { Issue.record("a queued command ran without AUTH") }
    }

    @Test("a pool spreads commands over its connections and runs transactions on one")
    func pool() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let pool = try RedisPool(loop: fixture.loop, address: fixture.server.address, size: 4)
        pool.connect()
        defer { pool.close() }
        try fixture.run("the pool to connect") { pool.connectedCount == 4 }
        var done = 0
        for _ in 0..<1000 { pool.increment("pooled") { if case .success = $0 { done += 1 } } }
        try fixture.run("1000 INCRs through the pool") { done == 1000 }
        #expect(try fixture.value("GET") { pool.get("pooled", $0) }.get() == "1000")
        let clients = try fixture.value("CLIENT LIST") { fixture.redis.send(["CLIENT", "LIST"], $0) }.get().string ?? ""
        #expect(clients.split(separator: "\n").count >= 5)
        let replies = try fixture.value("pooled transaction") { pool.transaction([["INCR", "t"], ["INCR", "t"]], $0) }.get()
        #expect(replies == [.integer(1), .integer(2)])
    }

    @Test("a Redis that is down fails commands at once and names the address")
    func down() throws {
        let harness = try LoopHarness()
        let address = "127.0.0.1:\(try freeLoopbackPort())"
        let client = try RedisClient(loop: harness.loop, address: address)
        client.connect()
        var result: Result<RESPValue, RedisError>?
        client.send(["PING"]) { result = $0 }
        #expect(try harness.run(until: { result != nil }, within: 10))
        if case .failure(let error) = result { #expect(error.code == .connection && error.detail.contains(address)) } else { Issue.record("PING succeeded") }
        #expect(throws: RedisError.self) { try RedisClient(loop: harness.loop, address: "bad address:x") }
        _ = harness.finish()
    }
}
