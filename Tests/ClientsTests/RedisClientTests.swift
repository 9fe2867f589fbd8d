import Testing
import WorkermanEventLoop
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

/// One test's loop, a redis-server and a connected client; `run` drives the loop until a condition.
final class RedisFixture {
    let harness: LoopHarness
    let server: RedisServerProcess
    let redis: RedisClient

    init(configuration: RedisConfiguration = RedisConfiguration()) throws {
        harness = try LoopHarness()
        server = try RedisServerProcess()
        redis = try RedisClient(loop: harness.loop, address: server.address, configuration: configuration)
        redis.connect()
        try run("the client to connect") { [redis] in redis.isConnected }
    }

    var loop: EventLoop { harness.loop }

    func run(_ what: String, seconds: Double = 10, _ condition: () -> Bool) throws {
        guard try harness.run(until: condition, within: seconds, interval: 0.001) else {
            throw TestError("timed out after \(seconds) s waiting for \(what)")
        }
    }

    /// Runs `body`'s command and waits for its one completion.
    func value<T>(_ what: String, _ body: (@escaping (Result<T, RedisError>) -> Void) -> Void) throws -> Result<T, RedisError> {
        var result: Result<T, RedisError>?
        body { result = $0 }
        try run(what) { result != nil }
        return result!
    }

    func finish() {
        redis.close()
        server.stop()
        _ = try? harness.run(until: { TransportContext.of(self.loop).liveConnections.isEmpty }, within: 3)
        _ = harness.finish()
    }
}

@Suite("Redis client: typed helpers, pipelines, transactions, pub/sub, reconnect, pool (real redis-server)",
       .enabled(if: RedisServerProcess.binary != nil, "redis-server is not installed"))
struct RedisClientTests {
    @Test("strings, counters and expiry")
    func strings() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let redis = fixture.redis
        #expect(try fixture.value("SET") { redis.set("greeting", to: "hello", $0) }.get() == true)
        #expect(try fixture.value("SET NX") { redis.set("greeting", to: "again", condition: .ifNotExists, $0) }.get() == false)
        #expect(try fixture.value("GET") { redis.get("greeting", $0) }.get() == "hello")
        #expect(try fixture.value("GET missing") { redis.get("missing", $0) }.get() == nil)
        #expect(try fixture.value("APPEND") { redis.append("greeting", " world", $0) }.get() == 11)
        #expect(try fixture.value("STRLEN") { redis.strlen("greeting", $0) }.get() == 11)
        let binary = ByteBuffer([0, 13, 10, 255])
        _ = try fixture.value("SET bytes") { redis.set("blob", to: binary, $0) }
        #expect(try fixture.value("GET bytes") { redis.getBytes("blob", $0) }.get() == binary)
        #expect(try fixture.value("INCR") { redis.increment("n", $0) }.get() == 1)
        #expect(try fixture.value("INCRBY") { redis.increment("n", by: 41, $0) }.get() == 42)
        #expect(try fixture.value("DECR") { redis.decrement("n", $0) }.get() == 41)
        #expect(try fixture.value("INCRBYFLOAT") { redis.increment("f", by: 1.5, $0) }.get() == 1.5)
        _ = try fixture.value("MSET") { redis.mset([("a", "1"), ("b", 2)], $0) }
        #expect(try fixture.value("MGET") { redis.mget(["a", "b", "zz"], $0) }.get() == ["1", "2", nil])
        #expect(try fixture.value("EXPIRE") { redis.expire("a", in: 100, $0) }.get() == true)
        let ttl = try fixture.value("TTL") { redis.ttl("a", $0) }.get()
        #expect(ttl != nil && ttl! > 90 && ttl! <= 100)
        #expect(try fixture.value("PERSIST") { redis.persist("a", $0) }.get() == true)
        #expect(try fixture.value("TTL none") { redis.ttl("a", $0) }.get() == nil)
        _ = try fixture.value("SET PX") { redis.set("short", to: "x", expiresIn: 0.05, $0) }
        let gone = try fixture.value("GET after expiry") { completion in
            _ = try? fixture.loop.addTimer(after: 0.2) { redis.get("short", completion) }
        }
        #expect(try gone.get() == nil)
    }

    @Test("hashes, lists, sets and sorted sets")
    func collections() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let redis = fixture.redis
        #expect(try fixture.value("HSET") { redis.hset("user", ["name": "Ada", "born": "1815"], $0) }.get() == 2)
        #expect(try fixture.value("HSET field") { redis.hset("user", field: "visits", to: 3, $0) }.get() == true)
        #expect(try fixture.value("HGET") { redis.hget("user", field: "name", $0) }.get() == "Ada")
        #expect(try fixture.value("HINCRBY") { redis.hincrby("user", field: "visits", by: 2, $0) }.get() == 5)
        #expect(try fixture.value("HGETALL") { redis.hgetall("user", $0) }.get() == ["name": "Ada", "born": "1815", "visits": "5"])
        #expect(try fixture.value("HMGET") { redis.hmget("user", fields: ["name", "x"], $0) }.get() == ["Ada", nil])
        #expect(try fixture.value("HEXISTS") { redis.hexists("user", field: "born", $0) }.get() == true)
        #expect(try fixture.value("HDEL") { redis.hdel("user", fields: ["born"], $0) }.get() == 1)
        #expect(try fixture.value("HKEYS") { redis.hkeys("user", $0) }.get().sorted() == ["name", "visits"])
        #expect(try fixture.value("HLEN") { redis.hlen("user", $0) }.get() == 2)

        #expect(try fixture.value("RPUSH") { redis.rpush("list", ["b", "c"], $0) }.get() == 2)
        #expect(try fixture.value("LPUSH") { redis.lpush("list", ["a"], $0) }.get() == 3)
        #expect(try fixture.value("LRANGE") { redis.lrange("list", 0, -1, $0) }.get() == ["a", "b", "c"])
        #expect(try fixture.value("LINDEX") { redis.lindex("list", 1, $0) }.get() == "b")
        #expect(try fixture.value("LREM") { redis.lrem("list", count: 0, "b", $0) }.get() == 1)
        #expect(try fixture.value("LPOP") { redis.lpop("list", $0) }.get() == "a")
        #expect(try fixture.value("RPOP") { redis.rpop("list", $0) }.get() == "c")
        #expect(try fixture.value("LLEN") { redis.llen("list", $0) }.get() == 0)
        _ = try fixture.value("RPUSH job") { redis.rpush("jobs", ["j1"], $0) }
        let popped = try fixture.value("BLPOP") { redis.blpop(["none", "jobs"], timeout: 1, $0) }.get()
        #expect(popped?.key == "jobs" && popped?.value == "j1")

        #expect(try fixture.value("SADD") { redis.sadd("s1", ["x", "y", "z"], $0) }.get() == 3)
        _ = try fixture.value("SADD 2") { redis.sadd("s2", ["y", "z", "w"], $0) }
        #expect(try fixture.value("SISMEMBER") { redis.sismember("s1", "x", $0) }.get() == true)
        #expect(try fixture.value("SINTER") { redis.sinter(["s1", "s2"], $0) }.get().sorted() == ["y", "z"])
        #expect(try fixture.value("SUNION") { redis.sunion(["s1", "s2"], $0) }.get().count == 4)
        #expect(try fixture.value("SREM") { redis.srem("s1", ["x"], $0) }.get() == 1)
        #expect(try fixture.value("SCARD") { redis.scard("s1", $0) }.get() == 2)
        #expect(try fixture.value("SMEMBERS") { redis.smembers("s1", $0) }.get().sorted() == ["y", "z"])

        #expect(try fixture.value("ZADD") { redis.zadd("z", [(1, "a"), (2.5, "b"), (3, "c")], $0) }.get() == 3)
        #expect(try fixture.value("ZSCORE") { redis.zscore("z", "b", $0) }.get() == 2.5)
        #expect(try fixture.value("ZINCRBY") { redis.zincrby("z", "a", by: 5, $0) }.get() == 6)
        #expect(try fixture.value("ZRANGE") { redis.zrange("z", 0, -1, $0) }.get() == ["b", "c", "a"])
        #expect(try fixture.value("ZREVRANGE") { redis.zrange("z", 0, 0, reversed: true, $0) }.get() == ["a"])
        let scored = try fixture.value("WITHSCORES") { redis.zrangeWithScores("z", 0, -1, $0) }.get()
        #expect(scored.map(\.member) == ["b", "c", "a"] && scored.map(\.score) == [2.5, 3, 6])
        #expect(try fixture.value("ZRANGEBYSCORE") { redis.zrangeByScore("z", min: 3, max: .infinity, $0) }.get() == ["c", "a"])
        #expect(try fixture.value("ZRANK") { redis.zrank("z", "c", $0) }.get() == 1)
        #expect(try fixture.value("ZRANK missing") { redis.zrank("z", "q", $0) }.get() == nil)
        #expect(try fixture.value("ZCOUNT") { redis.zcount("z", min: 0, max: 3, $0) }.get() == 2)
        #expect(try fixture.value("ZREM") { redis.zrem("z", ["b"], $0) }.get() == 1)
        #expect(try fixture.value("ZCARD") { redis.zcard("z", $0) }.get() == 2)
    }

    @Test("keys, scripts, wrong types and server errors")
    func keysAndScripts() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let redis = fixture.redis
        _ = try fixture.value("MSET") { redis.mset([("k1", "1"), ("k2", "2"), ("other", "3")], $0) }
        #expect(try fixture.value("EXISTS") { redis.exists(["k1", "k2", "nope"], $0) }.get() == 2)
        #expect(try fixture.value("TYPE") { redis.type("k1", $0) }.get() == "string")
        #expect(try fixture.value("KEYS") { redis.keys("k*", $0) }.get().sorted() == ["k1", "k2"])
        var seen: [String] = []
        var cursor = 0
        repeat {
            let page = try fixture.value("SCAN") { redis.scan(cursor, match: "k*", count: 1, $0) }.get()
            seen += page.keys
            cursor = page.cursor
        } while cursor != 0
        #expect(Set(seen) == ["k1", "k2"])
        _ = try fixture.value("RENAME") { redis.rename("k2", to: "k3", $0) }
        #expect(try fixture.value("DEL") { redis.delete(["k1", "k3", "zz"], $0) }.get() == 2)
        #expect(try fixture.value("DBSIZE") { redis.dbsize($0) }.get() == 1)

        let script = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
        #expect(try fixture.value("EVAL") { redis.eval(script, keys: ["hits"], arguments: [5], $0) }.get() == .integer(5))
        let sha = try fixture.value("SCRIPT LOAD") { redis.scriptLoad(script, $0) }.get()
        #expect(try fixture.value("EVALSHA") { redis.evalsha(sha, keys: ["hits"], arguments: [1], $0) }.get() == .integer(6))
        _ = try fixture.value("SCRIPT FLUSH") { redis.send(["SCRIPT", "FLUSH"], $0) }
        #expect(try fixture.value("evalCached") { redis.evalCached(script, sha: sha, keys: ["hits"], arguments: [1], $0) }.get() == .integer(7))

        // A wrong type is Redis' error, named; a reply the helper cannot read is .unexpectedReply.
        _ = try fixture.value("RPUSH") { redis.rpush("alist", ["x"], $0) }
        let wrong = try fixture.value("GET on a list") { redis.get("alist", $0) }
        #expect(throws: RedisError.self) { try wrong.get() }
        if case .failure(let error) = wrong { #expect(error.code == .server && error.detail.hasPrefix("WRONGTYPE")) }
        let unreadable = try fixture.value("INT of a list") { redis.call(["LRANGE", "alist", "0", "-1"], as: Int.self, $0) }
        if case .failure(let error) = unreadable { #expect(error.code == .unexpectedReply) } else { Issue.record("read a list as an Int") }
        #expect(try fixture.value("PING") { redis.ping($0) }.get() == "PONG")
    }

    @Test("a pipeline of 10,000 commands answers in order, in one write")
    func pipelineOf10000() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let count = 10_000
        let sets = (0..<count).map { RedisCommand("SET", RedisArgument("key:\($0)"), RedisArgument($0)) }
        let setReplies = try fixture.value("10,000 SETs") { (done: @escaping (Result<[Result<RESPValue, RedisError>], RedisError>) -> Void) in
            fixture.redis.pipeline(sets) { done(.success($0)) }
        }.get()
        #expect(setReplies.count == count)
        #expect(setReplies.allSatisfy { (try? $0.get()) == .simpleString("OK") })
        let gets = (0..<count).map { RedisCommand("GET", RedisArgument("key:\($0)")) }
        let getReplies = try fixture.value("10,000 GETs") { (done: @escaping (Result<[Result<RESPValue, RedisError>], RedisError>) -> Void) in
            fixture.redis.pipeline(gets) { done(.success($0)) }
        }.get()
        #expect(getReplies.enumerated().allSatisfy { (try? $1.get())?.string == String($0) })
        // Also 10,000 single sends issued back to back (each its own callback).
        var answered = 0
        for index in 0..<count { fixture.redis.increment("counter") { if (try? $0.get()) == index + 1 { answered += 1 } } }
        try fixture.run("10,000 INCRs") { answered == count }
    }

    @Test("MULTI/EXEC runs atomically; a changed WATCHed key aborts; a refused command fails the whole")
    func transactions() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let redis = fixture.redis
        let replies = try fixture.value("transaction") { redis.transaction([["INCR", "a"], ["INCR", "a"], ["GET", "a"]], $0) }.get()
        #expect(replies == [.integer(1), .integer(2), .bulkString(ByteBuffer("2"))])
        let refused = try fixture.value("bad transaction") { redis.transaction([["INCR", "a"], ["NOSUCHCOMMAND"]], $0) }
        if case .failure(let error) = refused { #expect(error.code == .server) } else { Issue.record("a refused command did not fail EXEC") }
        #expect(try fixture.value("a unchanged") { redis.get("a", $0) }.get() == "2")

        let other = try RedisClient(loop: fixture.loop, address: fixture.server.address)
        other.connect()
        defer { other.close() }
        _ = try fixture.value("WATCH") { redis.watch(["a"], $0) }
        _ = try fixture.value("other client SET") { other.set("a", to: "changed", $0) }
        let aborted = try fixture.value("watched transaction") { redis.transaction([["SET", "a", "mine"]], $0) }
        if case .failure(let error) = aborted { #expect(error.code == .transactionAborted) } else { Issue.record("did not abort") }
        #expect(try fixture.value("a after abort") { redis.get("a", $0) }.get() == "changed")
    }
}
