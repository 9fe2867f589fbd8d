import Testing
import WorkermanEventLoop
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

@Suite("Redis client: async forms, subscriptions as AsyncSequences, cancellation (real redis-server)",
       .enabled(if: RedisServerProcess.binary != nil, "redis-server is not installed"))
struct RedisAsyncTests {
    @Test("commands, pipelines and transactions await their replies, on the loop, for a client and a pool")
    func awaitReplies() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let redis = fixture.redis
        let pool = try RedisPool(loop: fixture.loop, address: fixture.server.address, size: 2)
        pool.connect()
        defer { pool.close() }
        var log: [String] = []
        var failure: (any Error)?
        var finished = false
        fixture.loop.task { loop in
            do {
                try await redis.set("greeting", to: "hello")
                log.append("get \(try await redis.get("greeting") ?? "nil")")
                log.append("incr \(try await redis.increment("n", by: 41)) \(try await pool.increment("n"))")
                log.append("hgetall \(try await pool.hgetall("none"))")
                let replies = try await redis.pipeline([["INCR", "n"], ["GET", "greeting"]])
                log.append("pipeline \(try replies[0].get().integer ?? 0) \(try replies[1].get().string ?? "")")
                let exec = try await pool.transaction([["INCR", "n"], ["INCR", "n"]])
                log.append("exec \(exec.compactMap(\.integer))")
                log.append("call \(try await redis.call(["LRANGE", "nothing", "0", "-1"], as: [String].self))")
                let page = try await redis.awaiting { redis.scan(0, match: "greet*", $0) }
                log.append("scan \(page.keys)")
                do {
                    try await redis.send(["LPUSH", "greeting", "x"])
                } catch let error as RedisError {
                    log.append("error \(error.code)")
                }
                loop.preconditionOnLoop()
            } catch {
                failure = error
            }
            finished = true
        }
        try fixture.run("the calls") { finished }
        #expect(failure == nil)
        #expect(log == [
            "get hello", "incr 41 42", "hgetall [:]", "pipeline 43 hello", "exec [44, 45]",
            "call []", "scan [\"greeting\"]", "error server",
        ])
    }

    @Test("a cancelled task throws .cancelled at once; the command's late reply is dropped, the next gets its own")
    func cancellation() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let redis = fixture.redis
        _ = try fixture.value("SET") { redis.set("k", to: "v", $0) }
        var code: RedisError.Code?
        // BLPOP holds the connection for 1 s: the task waits on it, and is cancelled meanwhile.
        let task = fixture.loop.task { _ in
            do {
                _ = try await redis.awaiting { redis.blpop(["empty"], timeout: 1, $0) }
            } catch let error as RedisError {
                code = error.code
            }
        }
        let started = MonotonicClock.now()
        task.cancel()
        try fixture.run("the cancellation") { code != nil }
        #expect(code == .cancelled)
        #expect(MonotonicClock.now() - started < 500_000_000, "cancelled at once, not after the BLPOP's second")
        // Queued behind the BLPOP on the same connection: its reply must be "v", not the BLPOP's nil.
        #expect(try fixture.value("GET after the cancelled BLPOP") { redis.get("k", $0) }.get() == "v")
    }

    @Test("subscribe as an AsyncSequence: messages in order; a cancelled reader unsubscribes; close finishes it")
    func subscription() throws {
        let fixture = try RedisFixture()
        defer { fixture.finish() }
        let subscriber = try RedisClient(loop: fixture.loop, address: fixture.server.address)
        subscriber.connect()
        var received: [String] = []
        var ended = false
        fixture.loop.task { _ in
            for try await message in subscriber.subscribe(["news"]) { received.append(message.string) }
            ended = true
        }
        var listeners = 0
        try fixture.run("the subscription") {
            fixture.redis.publish("news", "hello") { listeners = (try? $0.get()) ?? 0 }
            return listeners == 1
        }
        _ = try fixture.value("PUBLISH") { fixture.redis.publish("news", "second", $0) }
        try fixture.run("the messages: \(received)") { received.suffix(2) == ["hello", "second"] }
        subscriber.close()
        try fixture.run("the sequence to end with the client") { ended }

        // A reader whose task is cancelled stops the subscription.
        let second = try RedisClient(loop: fixture.loop, address: fixture.server.address)
        second.connect()
        defer { second.close() }
        var patterns: [String] = []
        let task = fixture.loop.task { _ in
            for try await message in second.psubscribe(["user:*"]) { patterns.append(message.channel) }
        }
        try fixture.run("the pattern subscription") {
            fixture.redis.publish("user:1", "x") { listeners = (try? $0.get()) ?? 0 }
            return !patterns.isEmpty
        }
        task.cancel()
        try fixture.run("the pattern subscription to end") {
            fixture.redis.publish("user:1", "x") { listeners = (try? $0.get()) ?? -1 }
            return listeners == 0
        }
    }
}
