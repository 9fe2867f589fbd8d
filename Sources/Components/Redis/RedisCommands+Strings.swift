import WorkermanTransport

/// What `set` requires of the key's current state.
public enum RedisSetCondition: Sendable {
    /// Always set.
    case always
    /// `NX`: only when the key does not exist (a lock, a first writer).
    case ifNotExists
    /// `XX`: only when it exists.
    case ifExists
}

// MARK: - Strings and counters

extension RedisCommandSender {
    /// `GET key`: the value, or nil when the key does not exist.
    ///
    /// ```swift
    /// redis.get("greeting") { result in print(try? result.get() ?? "none") }
    /// ```
    public func get(_ key: String, _ completion: @escaping (Result<String?, RedisError>) -> Void) {
        call(RedisCommand("GET", RedisArgument(key)), completion)
    }

    /// `GET key` as bytes (binary values).
    public func getBytes(_ key: String, _ completion: @escaping (Result<ByteBuffer?, RedisError>) -> Void) {
        call(RedisCommand("GET", RedisArgument(key)), completion)
    }

    /// `SET key value [PX ms] [NX|XX]`: true when the value was set (false: the condition did not hold).
    ///
    /// ```swift
    /// redis.set("lock:job", to: "worker-3", expiresIn: 30, condition: .ifNotExists) { got in … }
    /// ```
    public func set(
        _ key: String,
        to value: some RedisArgumentConvertible,
        expiresIn seconds: Double? = nil,
        condition: RedisSetCondition = .always,
        _ completion: @escaping (Result<Bool, RedisError>) -> Void = { _ in }
    ) {
        var arguments = [RedisArgument(key), value.redisArgument]
        if let seconds { arguments += ["PX", RedisArgument(max(1, Int((seconds * 1000).rounded())))] }
        switch condition {
        case .always: break
        case .ifNotExists: arguments.append("NX")
        case .ifExists: arguments.append("XX")
        }
        call(RedisCommand("SET", arguments: arguments), completion)
    }

    /// `MGET keys…`: the values in order, nil for a missing key.
    public func mget(_ keys: [String], _ completion: @escaping (Result<[String?], RedisError>) -> Void) {
        call(RedisCommand("MGET", arguments: keys.map { RedisArgument($0) }), completion)
    }

    /// `MSET key value …`: sets all at once.
    public func mset(_ pairs: [(String, any RedisArgumentConvertible)], _ completion: @escaping (Result<Void, RedisError>) -> Void = { _ in }) {
        callForStatus(RedisCommand("MSET", arguments: pairs.flatMap { [RedisArgument($0.0), $0.1.redisArgument] }), completion)
    }

    /// `APPEND key value`: the new length.
    public func append(_ key: String, _ value: some RedisArgumentConvertible, _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("APPEND", RedisArgument(key), value.redisArgument), completion)
    }

    /// `STRLEN key`.
    public func strlen(_ key: String, _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("STRLEN", RedisArgument(key)), completion)
    }

    /// `INCRBY key amount` (`INCR` for 1): the new value.
    ///
    /// ```swift
    /// redis.increment("visits") { count in print(count) }
    /// ```
    public func increment(_ key: String, by amount: Int = 1, _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        let command = amount == 1 ? RedisCommand("INCR", RedisArgument(key)) : RedisCommand("INCRBY", RedisArgument(key), RedisArgument(amount))
        call(command, completion)
    }

    /// `DECRBY key amount` (`DECR` for 1): the new value.
    public func decrement(_ key: String, by amount: Int = 1, _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        let command = amount == 1 ? RedisCommand("DECR", RedisArgument(key)) : RedisCommand("DECRBY", RedisArgument(key), RedisArgument(amount))
        call(command, completion)
    }

    /// `INCRBYFLOAT key amount`: the new value.
    public func increment(_ key: String, by amount: Double, _ completion: @escaping (Result<Double, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("INCRBYFLOAT", RedisArgument(key), RedisArgument(amount)), completion)
    }
}

// MARK: - Hashes

extension RedisCommandSender {
    /// `HSET key field value …`: how many fields were new.
    ///
    /// ```swift
    /// redis.hset("user:1", ["name": "Ada", "born": "1815"])
    /// ```
    public func hset(_ key: String, _ fields: [String: String], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        let arguments = fields.sorted { $0.key < $1.key }.flatMap { [RedisArgument($0.key), RedisArgument($0.value)] }
        call(RedisCommand("HSET", arguments: [RedisArgument(key)] + arguments), completion)
    }

    /// `HSET key field value` with any value (bytes, numbers): true when the field was new.
    public func hset(_ key: String, field: String, to value: some RedisArgumentConvertible, _ completion: @escaping (Result<Bool, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("HSET", RedisArgument(key), RedisArgument(field), value.redisArgument), completion)
    }

    /// `HGET key field`.
    public func hget(_ key: String, field: String, _ completion: @escaping (Result<String?, RedisError>) -> Void) {
        call(RedisCommand("HGET", RedisArgument(key), RedisArgument(field)), completion)
    }

    /// `HMGET key fields…`: values in order, nil for a missing field.
    public func hmget(_ key: String, fields: [String], _ completion: @escaping (Result<[String?], RedisError>) -> Void) {
        call(RedisCommand("HMGET", arguments: [RedisArgument(key)] + fields.map { RedisArgument($0) }), completion)
    }

    /// `HGETALL key`: every field (empty for a missing key).
    public func hgetall(_ key: String, _ completion: @escaping (Result<[String: String], RedisError>) -> Void) {
        call(RedisCommand("HGETALL", RedisArgument(key)), completion)
    }

    /// `HDEL key fields…`: how many were removed.
    public func hdel(_ key: String, fields: [String], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("HDEL", arguments: [RedisArgument(key)] + fields.map { RedisArgument($0) }), completion)
    }

    /// `HEXISTS key field`.
    public func hexists(_ key: String, field: String, _ completion: @escaping (Result<Bool, RedisError>) -> Void) {
        call(RedisCommand("HEXISTS", RedisArgument(key), RedisArgument(field)), completion)
    }

    /// `HINCRBY key field amount`: the new value.
    public func hincrby(_ key: String, field: String, by amount: Int = 1, _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("HINCRBY", RedisArgument(key), RedisArgument(field), RedisArgument(amount)), completion)
    }

    /// `HKEYS key`.
    public func hkeys(_ key: String, _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("HKEYS", RedisArgument(key)), completion)
    }

    /// `HLEN key`.
    public func hlen(_ key: String, _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("HLEN", RedisArgument(key)), completion)
    }
}
