import WorkermanEventLoop
import WorkermanTransport

// The async forms of the Redis calls, for tasks on the client's loop (`loop.task`, an async handler):
// each suspends until Redis answers and throws the `RedisError` the callback form reports. In a sync
// context the callback forms are chosen, as before.
//
// Cancellation: a command cannot be taken back once written (Redis may already have run it), so a task
// cancelled while it waits throws `RedisError` `.cancelled` at once and the command goes on; its reply is
// read and dropped when it comes, so the connection stays in step for the commands after it. A closed
// loop throws `.connection`.
extension RedisCommandSender {
    /// Sends `command` and returns Redis' answer (`-ERR` answers throw `.server`).
    ///
    /// ```swift
    /// loop.task { _ in
    ///     let reply = try await redis.send(["INCR", "visits"])
    ///     print(reply.integer ?? 0)
    /// }
    /// ```
    @discardableResult
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await awaitReply("Redis.send") { done in send(command, done) }
    }

    /// Sends `command` and reads the reply as `T`.
    ///
    /// ```swift
    /// let fields = try await redis.call(["HGETALL", "user:1"], as: [String: String].self)
    /// ```
    public func call<T: RESPDecodable>(_ command: RedisCommand, as type: T.Type = T.self) async throws(RedisError) -> T {
        try await awaitReply("Redis.call") { done in call(command, as: type, done) }
    }

    /// Sends `commands` as one pipeline; every reply, in order (each a success or a failure).
    ///
    /// ```swift
    /// let replies = try await redis.pipeline([["INCR", "a"], ["INCR", "b"]])
    /// ```
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try await awaitReply("Redis.pipeline") { done in pipeline(commands) { done(.success($0)) } }
    }

    /// Runs `commands` atomically with `MULTI`/`EXEC` (see the callback form for the failures).
    ///
    /// ```swift
    /// let replies = try await redis.transaction([["INCR", "a"], ["INCR", "b"]])
    /// ```
    @discardableResult
    public func transaction(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        try await awaitReply("Redis.transaction") { done in transaction(commands, done) }
    }

    /// Runs any callback-form helper and suspends for its answer: the async form of the helpers that have
    /// none of their own (`scan`, `blpop`, `zrangeWithScores`, …).
    ///
    /// ```swift
    /// let page = try await redis.awaiting { redis.scan(0, match: "session:*", $0) }
    /// ```
    public func awaiting<Value>(_ call: (@escaping (Result<Value, RedisError>) -> Void) -> Void) async throws(RedisError) -> Value {
        try await awaitReply("Redis.awaiting", call)
    }

    /// Runs a callback-form call and suspends until it answers, mapping cancellation and a closed loop
    /// to `RedisError` so the async forms throw one error type.
    func awaitReply<Value>(
        _ api: String,
        _ call: (@escaping (Result<Value, RedisError>) -> Void) -> Void
    ) async throws(RedisError) -> Value {
        do {
            return try await loop.withCompletion(api) { (completion: LoopCompletion<Value>) in
                // The callback runs once; after a cancellation it finds the completion done and is ignored.
                call { result in completion.complete(result.mapError { $0 }) }
            }
        } catch let error as RedisError {
            throw error
        } catch is CancellationError {
            throw RedisError(.cancelled, "\(api): the task was cancelled (the command was sent; its reply is dropped)")
        } catch {
            throw RedisError(.connection, "\(api): \(error)")
        }
    }
}

// MARK: - Typed helpers

extension RedisCommandSender {
    /// `GET key`.
    ///
    /// ```swift
    /// let name = try await redis.get("user:1:name") ?? "anonymous"
    /// ```
    public func get(_ key: String) async throws(RedisError) -> String? { try await awaiting { get(key, $0) } }
    public func getBytes(_ key: String) async throws(RedisError) -> ByteBuffer? { try await awaiting { getBytes(key, $0) } }

    /// `SET key value [PX ms] [NX|XX]`: whether it was set.
    @discardableResult
    public func set(
        _ key: String,
        to value: some RedisArgumentConvertible,
        expiresIn seconds: Double? = nil,
        condition: RedisSetCondition = .always
    ) async throws(RedisError) -> Bool {
        try await awaiting { set(key, to: value, expiresIn: seconds, condition: condition, $0) }
    }

    public func mget(_ keys: [String]) async throws(RedisError) -> [String?] { try await awaiting { mget(keys, $0) } }
    public func mset(_ pairs: [(String, any RedisArgumentConvertible)]) async throws(RedisError) { try await awaiting { mset(pairs, $0) } }
    @discardableResult
    public func increment(_ key: String, by amount: Int = 1) async throws(RedisError) -> Int { try await awaiting { increment(key, by: amount, $0) } }
    @discardableResult
    public func decrement(_ key: String, by amount: Int = 1) async throws(RedisError) -> Int { try await awaiting { decrement(key, by: amount, $0) } }
    @discardableResult
    public func delete(_ keys: [String]) async throws(RedisError) -> Int { try await awaiting { delete(keys, $0) } }
    public func exists(_ keys: [String]) async throws(RedisError) -> Int { try await awaiting { exists(keys, $0) } }
    @discardableResult
    public func expire(_ key: String, in seconds: Double) async throws(RedisError) -> Bool { try await awaiting { expire(key, in: seconds, $0) } }
    public func ttl(_ key: String) async throws(RedisError) -> Double? { try await awaiting { ttl(key, $0) } }

    @discardableResult
    public func hset(_ key: String, _ fields: [String: String]) async throws(RedisError) -> Int { try await awaiting { hset(key, fields, $0) } }
    public func hget(_ key: String, field: String) async throws(RedisError) -> String? { try await awaiting { hget(key, field: field, $0) } }
    public func hgetall(_ key: String) async throws(RedisError) -> [String: String] { try await awaiting { hgetall(key, $0) } }
    @discardableResult
    public func hdel(_ key: String, fields: [String]) async throws(RedisError) -> Int { try await awaiting { hdel(key, fields: fields, $0) } }
    @discardableResult
    public func hincrby(_ key: String, field: String, by amount: Int = 1) async throws(RedisError) -> Int {
        try await awaiting { hincrby(key, field: field, by: amount, $0) }
    }

    @discardableResult
    public func lpush(_ key: String, _ values: [any RedisArgumentConvertible]) async throws(RedisError) -> Int { try await awaiting { lpush(key, values, $0) } }
    @discardableResult
    public func rpush(_ key: String, _ values: [any RedisArgumentConvertible]) async throws(RedisError) -> Int { try await awaiting { rpush(key, values, $0) } }
    public func lpop(_ key: String) async throws(RedisError) -> String? { try await awaiting { lpop(key, $0) } }
    public func rpop(_ key: String) async throws(RedisError) -> String? { try await awaiting { rpop(key, $0) } }
    public func lrange(_ key: String, _ start: Int, _ stop: Int) async throws(RedisError) -> [String] { try await awaiting { lrange(key, start, stop, $0) } }
    public func llen(_ key: String) async throws(RedisError) -> Int { try await awaiting { llen(key, $0) } }

    @discardableResult
    public func sadd(_ key: String, _ members: [any RedisArgumentConvertible]) async throws(RedisError) -> Int { try await awaiting { sadd(key, members, $0) } }
    @discardableResult
    public func srem(_ key: String, _ members: [any RedisArgumentConvertible]) async throws(RedisError) -> Int { try await awaiting { srem(key, members, $0) } }
    public func smembers(_ key: String) async throws(RedisError) -> [String] { try await awaiting { smembers(key, $0) } }
    public func sismember(_ key: String, _ member: some RedisArgumentConvertible) async throws(RedisError) -> Bool {
        try await awaiting { sismember(key, member, $0) }
    }
    public func scard(_ key: String) async throws(RedisError) -> Int { try await awaiting { scard(key, $0) } }

    @discardableResult
    public func zadd(_ key: String, _ members: [(score: Double, member: String)]) async throws(RedisError) -> Int { try await awaiting { zadd(key, members, $0) } }
    public func zscore(_ key: String, _ member: String) async throws(RedisError) -> Double? { try await awaiting { zscore(key, member, $0) } }
    public func zrange(_ key: String, _ start: Int, _ stop: Int, reversed: Bool = false) async throws(RedisError) -> [String] {
        try await awaiting { zrange(key, start, stop, reversed: reversed, $0) }
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    @discardableResult
    public func publish(_ channel: String, _ message: some RedisArgumentConvertible) async throws(RedisError) -> Int {
        try await awaiting { publish(channel, message, $0) }
    }
    public func ping() async throws(RedisError) -> String { try await awaiting { ping($0) } }
    public func eval(_ script: String, keys: [String] = [], arguments: [any RedisArgumentConvertible] = []) async throws(RedisError) -> RESPValue {
        try await awaiting { eval(script, keys: keys, arguments: arguments, $0) }
    }
}
