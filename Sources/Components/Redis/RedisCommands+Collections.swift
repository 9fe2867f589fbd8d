import WorkermanTransport

// MARK: - Lists

extension RedisCommandSender {
    /// `LPUSH key values…`: the list's new length.
    public func lpush(_ key: String, _ values: [any RedisArgumentConvertible], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("LPUSH", arguments: [RedisArgument(key)] + values.map(\.redisArgument)), completion)
    }

    /// `RPUSH key values…`: the list's new length.
    ///
    /// ```swift
    /// redis.rpush("jobs", ["resize:17", "resize:18"])
    /// ```
    public func rpush(_ key: String, _ values: [any RedisArgumentConvertible], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("RPUSH", arguments: [RedisArgument(key)] + values.map(\.redisArgument)), completion)
    }

    /// `LPOP key`: nil when the list is empty.
    public func lpop(_ key: String, _ completion: @escaping (Result<String?, RedisError>) -> Void) {
        call(RedisCommand("LPOP", RedisArgument(key)), completion)
    }

    /// `RPOP key`: nil when the list is empty.
    public func rpop(_ key: String, _ completion: @escaping (Result<String?, RedisError>) -> Void) {
        call(RedisCommand("RPOP", RedisArgument(key)), completion)
    }

    /// `BLPOP keys… timeout`: the list and element popped, nil after `timeout` seconds (0: forever).
    /// It holds its connection while it waits: use a client of its own.
    public func blpop(_ keys: [String], timeout: Int, _ completion: @escaping (Result<(key: String, value: String)?, RedisError>) -> Void) {
        call(RedisCommand("BLPOP", arguments: keys.map { RedisArgument($0) } + [RedisArgument(timeout)]), as: [String]?.self) { result in
            completion(result.flatMap { pair in
                guard let pair else { return .success(nil) }
                guard pair.count == 2 else { return .failure(RedisError(.unexpectedReply, "BLPOP answered \(pair.count) elements")) }
                return .success((pair[0], pair[1]))
            })
        }
    }

    /// `LRANGE key start stop` (inclusive; -1 is the last).
    public func lrange(_ key: String, _ start: Int, _ stop: Int, _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("LRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(stop)), completion)
    }

    /// `LLEN key`.
    public func llen(_ key: String, _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("LLEN", RedisArgument(key)), completion)
    }

    /// `LINDEX key index`.
    public func lindex(_ key: String, _ index: Int, _ completion: @escaping (Result<String?, RedisError>) -> Void) {
        call(RedisCommand("LINDEX", RedisArgument(key), RedisArgument(index)), completion)
    }

    /// `LREM key count value`: how many were removed.
    public func lrem(_ key: String, count: Int, _ value: some RedisArgumentConvertible, _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("LREM", RedisArgument(key), RedisArgument(count), value.redisArgument), completion)
    }

    /// `LTRIM key start stop`: keeps only that range.
    public func ltrim(_ key: String, _ start: Int, _ stop: Int, _ completion: @escaping (Result<Void, RedisError>) -> Void = { _ in }) {
        callForStatus(RedisCommand("LTRIM", RedisArgument(key), RedisArgument(start), RedisArgument(stop)), completion)
    }
}

// MARK: - Sets

extension RedisCommandSender {
    /// `SADD key members…`: how many were new.
    public func sadd(_ key: String, _ members: [any RedisArgumentConvertible], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("SADD", arguments: [RedisArgument(key)] + members.map(\.redisArgument)), completion)
    }

    /// `SREM key members…`: how many were removed.
    public func srem(_ key: String, _ members: [any RedisArgumentConvertible], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("SREM", arguments: [RedisArgument(key)] + members.map(\.redisArgument)), completion)
    }

    /// `SMEMBERS key` (in no particular order).
    public func smembers(_ key: String, _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("SMEMBERS", RedisArgument(key)), completion)
    }

    /// `SISMEMBER key member`.
    public func sismember(_ key: String, _ member: some RedisArgumentConvertible, _ completion: @escaping (Result<Bool, RedisError>) -> Void) {
        call(RedisCommand("SISMEMBER", RedisArgument(key), member.redisArgument), completion)
    }

    /// `SCARD key`.
    public func scard(_ key: String, _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("SCARD", RedisArgument(key)), completion)
    }

    /// `SINTER keys…`.
    public func sinter(_ keys: [String], _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("SINTER", arguments: keys.map { RedisArgument($0) }), completion)
    }

    /// `SUNION keys…`.
    public func sunion(_ keys: [String], _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("SUNION", arguments: keys.map { RedisArgument($0) }), completion)
    }
}
