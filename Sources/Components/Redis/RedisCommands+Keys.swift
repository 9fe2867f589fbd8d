// MARK: - Keys and expiry

extension RedisCommandSender {
    /// `DEL keys…`: how many existed.
    public func delete(_ keys: [String], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("DEL", arguments: keys.map { RedisArgument($0) }), completion)
    }

    /// `EXISTS keys…`: how many exist.
    public func exists(_ keys: [String], _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("EXISTS", arguments: keys.map { RedisArgument($0) }), completion)
    }

    /// `TYPE key`: `string`, `list`, `set`, `zset`, `hash`, `stream` or `none`.
    public func type(_ key: String, _ completion: @escaping (Result<String, RedisError>) -> Void) {
        call(RedisCommand("TYPE", RedisArgument(key)), completion)
    }

    /// `RENAME key newKey`.
    public func rename(_ key: String, to newKey: String, _ completion: @escaping (Result<Void, RedisError>) -> Void = { _ in }) {
        callForStatus(RedisCommand("RENAME", RedisArgument(key), RedisArgument(newKey)), completion)
    }

    /// `KEYS pattern` (walks the whole keyspace: prefer `scan` on a big database).
    public func keys(_ pattern: String, _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("KEYS", RedisArgument(pattern)), completion)
    }

    /// `SCAN cursor [MATCH pattern] [COUNT n]`: the next cursor (0 when done) and a page of keys.
    ///
    /// ```swift
    /// redis.scan(0, match: "session:*") { page in print(try? page.get().keys) }
    /// ```
    public func scan(
        _ cursor: Int,
        match pattern: String? = nil,
        count: Int? = nil,
        _ completion: @escaping (Result<(cursor: Int, keys: [String]), RedisError>) -> Void
    ) {
        var arguments = [RedisArgument(cursor)]
        if let pattern { arguments += ["MATCH", RedisArgument(pattern)] }
        if let count { arguments += ["COUNT", RedisArgument(count)] }
        call(RedisCommand("SCAN", arguments: arguments), as: [RESPValue].self) { result in
            completion(result.flatMap { parts in
                guard parts.count == 2 else { return .failure(RedisError(.unexpectedReply, "SCAN answered \(parts.count) elements")) }
                do throws(RedisError) {
                    return .success((try Int(fromRESP: parts[0]), try [String](fromRESP: parts[1])))
                } catch {
                    return .failure(error)
                }
            })
        }
    }

    /// `PEXPIRE key ms`: true when the key exists (and now expires in `seconds`).
    public func expire(_ key: String, in seconds: Double, _ completion: @escaping (Result<Bool, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("PEXPIRE", RedisArgument(key), RedisArgument(Int((seconds * 1000).rounded()))), completion)
    }

    /// `EXPIREAT key unixSeconds`.
    public func expire(_ key: String, atUnixTime seconds: Int, _ completion: @escaping (Result<Bool, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("EXPIREAT", RedisArgument(key), RedisArgument(seconds)), completion)
    }

    /// `PTTL key` in seconds: nil when the key has no expiry or does not exist.
    public func ttl(_ key: String, _ completion: @escaping (Result<Double?, RedisError>) -> Void) {
        call(RedisCommand("PTTL", RedisArgument(key)), as: Int.self) { result in
            completion(result.map { milliseconds in milliseconds < 0 ? nil : Double(milliseconds) / 1000 })
        }
    }

    /// `PERSIST key`: true when an expiry was removed.
    public func persist(_ key: String, _ completion: @escaping (Result<Bool, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("PERSIST", RedisArgument(key)), completion)
    }
}

// MARK: - Scripts, pub/sub publishing, server

extension RedisCommandSender {
    /// `EVAL script numkeys keys… args…`: the script's reply.
    ///
    /// ```swift
    /// redis.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", keys: ["hits"], arguments: [5]) { print($0) }
    /// ```
    public func eval(
        _ script: String,
        keys: [String] = [],
        arguments: [any RedisArgumentConvertible] = [],
        _ completion: @escaping (Result<RESPValue, RedisError>) -> Void
    ) {
        let all = [RedisArgument(script), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments.map(\.redisArgument)
        send(RedisCommand("EVAL", arguments: all), completion)
    }

    /// `EVALSHA sha numkeys keys… args…`.
    public func evalsha(
        _ sha: String,
        keys: [String] = [],
        arguments: [any RedisArgumentConvertible] = [],
        _ completion: @escaping (Result<RESPValue, RedisError>) -> Void
    ) {
        let all = [RedisArgument(sha), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments.map(\.redisArgument)
        send(RedisCommand("EVALSHA", arguments: all), completion)
    }

    /// `SCRIPT LOAD script`: the SHA-1 `evalsha` takes.
    public func scriptLoad(_ script: String, _ completion: @escaping (Result<String, RedisError>) -> Void) {
        call(RedisCommand("SCRIPT", "LOAD", RedisArgument(script)), completion)
    }

    /// `EVALSHA` of `script`'s SHA-1, falling back to `EVAL` (which caches it) when Redis does not know
    /// it yet (`NOSCRIPT`): the script's text crosses the wire once per server.
    public func evalCached(
        _ script: String,
        sha: String,
        keys: [String] = [],
        arguments: [any RedisArgumentConvertible] = [],
        _ completion: @escaping (Result<RESPValue, RedisError>) -> Void
    ) {
        evalsha(sha, keys: keys, arguments: arguments) { [weak self] result in
            if case .failure(let error) = result, error.code == .server, error.detail.hasPrefix("NOSCRIPT"), let self {
                self.eval(script, keys: keys, arguments: arguments, completion)
            } else {
                completion(result)
            }
        }
    }

    /// `PUBLISH channel message`: how many subscribers got it.
    public func publish(_ channel: String, _ message: some RedisArgumentConvertible, _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("PUBLISH", RedisArgument(channel), message.redisArgument), completion)
    }

    /// `PING`: `PONG`.
    public func ping(_ completion: @escaping (Result<String, RedisError>) -> Void) {
        call(["PING"], completion)
    }

    /// `WATCH keys…`: the next `transaction` on this connection aborts if one of them changes first.
    public func watch(_ keys: [String], _ completion: @escaping (Result<Void, RedisError>) -> Void = { _ in }) {
        callForStatus(RedisCommand("WATCH", arguments: keys.map { RedisArgument($0) }), completion)
    }

    /// `FLUSHDB`: empties the selected database.
    public func flushdb(_ completion: @escaping (Result<Void, RedisError>) -> Void = { _ in }) {
        callForStatus(["FLUSHDB"], completion)
    }

    /// `DBSIZE`.
    public func dbsize(_ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(["DBSIZE"], completion)
    }
}
