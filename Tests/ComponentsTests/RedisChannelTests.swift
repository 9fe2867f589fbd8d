import Testing
import WorkermanEventLoop
import WorkermanTransport

@testable import WorkermanComponents

private func redisClient(_ loop: EventLoop, _ address: String, prefix: String) -> ChannelClient {
    var configuration = ChannelClient.Configuration(backend: .redis(address, prefix: prefix))
    configuration.reconnectInterval = 0.1
    let client = ChannelClient(loop: loop, configuration: configuration)
    client.log = { _ in }
    return client
}

@Suite("Redis: the RESP client and the Channel backend, against a real redis-server", .enabled(if: RedisProcess.isInstalled, "redis-server is not installed (apt-get install redis-server)"))
struct RedisChannelTests {
    @Test("commands, replies, errors and binary values")
    func commands() throws {
        let redis = try RedisProcess()
        defer { redis.stop() }
        let testLoop = try TestLoop()
        let client = try RedisClient(loop: testLoop.loop, address: redis.address)
        client.connect()
        defer { client.close() }
        var replies: [Result<RESPValue, RedisError>] = []
        client.send(["SET", "k", "v"]) { replies.append($0) }
        client.send(["GET", "k"]) { replies.append($0) }
        client.send(["INCR", "n"]) { replies.append($0) }
        client.send(["GET", "missing"]) { replies.append($0) }
        client.send(["INCR", "k"]) { replies.append($0) }
        client.send(RedisCommand("SET", "bin", RedisArgument([0, 13, 10, 255]))) { replies.append($0) }
        client.send(["GET", "bin"]) { replies.append($0) }
        client.send(["RPUSH", "list", "a", "b"]) { replies.append($0) }
        client.send(["LRANGE", "list", "0", "-1"]) { replies.append($0) }
        try testLoop.run(until: "9 replies") { replies.count == 9 }
        #expect(try replies[0].get() == .simpleString("OK"))
        #expect(try replies[1].get() == .bulkString("v"))
        #expect(try replies[2].get() == .integer(1))
        #expect(try replies[3].get() == .null)
        if case .failure(let error) = replies[4] {
            #expect(error.code == .server && error.detail.contains("not an integer"))
        } else {
            Issue.record("INCR of a string should fail")
        }
        #expect(try replies[6].get() == .bulkString(ByteBuffer([0, 13, 10, 255])))
        #expect(try replies[8].get() == .array([.bulkString("a"), .bulkString("b")]))
    }

    @Test("a Redis that is down fails commands at once")
    func redisDown() throws {
        let testLoop = try TestLoop()
        let client = try RedisClient(loop: testLoop.loop, address: "127.0.0.1:\(try freePort())")
        var result: Result<RESPValue, RedisError>?
        var closedWith: RedisError?
        client.onClose = { closedWith = $0 }
        client.connect()
        client.send(["PING"]) { result = $0 }
        try testLoop.run(until: "the failure") { result != nil && closedWith != nil }
        guard case .failure(let error) = result else {
            Issue.record("PING succeeded")
            return
        }
        #expect(error.code == .connection)
    }

    @Test("Channel over Redis: every subscriber once, queue jobs to exactly one consumer")
    func channel() throws {
        let redis = try RedisProcess()
        defer { redis.stop() }
        let testLoop = try TestLoop()
        let prefix = "t\(UInt32.random(in: 0...UInt32.max)):"
        let subscribers = [redisClient(testLoop.loop, redis.address, prefix: prefix), redisClient(testLoop.loop, redis.address, prefix: prefix)]
        let publisher = redisClient(testLoop.loop, redis.address, prefix: prefix)
        defer { (subscribers + [publisher]).forEach { $0.close() } }
        var got: [[PHPValue]] = [[], []]
        var ready: Set<Int> = []
        for (index, subscriber) in subscribers.enumerated() {
            subscriber.on("news") { got[index].append($0) }
            subscriber.on("probe") { _ in ready.insert(index) }
        }
        publisher.connect()
        try testLoop.run(until: "both subscribed") {
            if ready.count < 2 && publisher.isConnected { publisher.publish("probe", true) }
            return ready.count == 2
        }
        for index in 0..<300 { publisher.publish("news", ["i": .int(index), "payload": PHPValue(bytes: [0, 1, 2])]) }
        try testLoop.run(until: "300 events each") { got[0].count == 300 && got[1].count == 300 }
        #expect(got[0] == (0..<300).map { ["i": .int($0), "payload": PHPValue(bytes: [0, 1, 2])] })
        #expect(got[1] == got[0])

        var taken: [[Int]] = [[], []]
        for (index, consumer) in subscribers.enumerated() { consumer.watch("jobs") { taken[index].append($0.intValue ?? -1) } }
        for job in 0..<200 { publisher.enqueue("jobs", .int(job)) }
        try testLoop.run(until: "200 jobs") { taken[0].count + taken[1].count == 200 }
        try testLoop.run(for: 0.2)
        #expect((taken[0] + taken[1]).sorted() == Array(0..<200))
    }

    @Test("Redis restarts: clients reconnect and subscribe again")
    func reconnect() throws {
        var redis = try RedisProcess()
        defer { redis.stop() }
        let testLoop = try TestLoop()
        let prefix = "r\(UInt32.random(in: 0...UInt32.max)):"
        let subscriber = redisClient(testLoop.loop, redis.address, prefix: prefix)
        let publisher = redisClient(testLoop.loop, redis.address, prefix: prefix)
        defer { [subscriber, publisher].forEach { $0.close() } }
        var got: [PHPValue] = []
        var connects = 0
        subscriber.onConnect = { connects += 1 }
        subscriber.on("news") { got.append($0) }
        publisher.connect()
        try testLoop.run(until: "first delivery") {
            if got.isEmpty && publisher.isConnected { publisher.publish("news", "before") }
            return !got.isEmpty
        }
        let port = redis.port
        redis.stop()
        try testLoop.run(until: "the loss is seen") { !subscriber.isConnected }
        redis = try RedisProcess(port: port)
        try testLoop.run(until: "reconnected") { connects >= 2 && publisher.isConnected }
        got.removeAll()
        try testLoop.run(until: "delivery after the restart") {
            if got.isEmpty { publisher.publish("news", "after") }
            return !got.isEmpty
        }
        #expect(got.first == "after")
    }
}
