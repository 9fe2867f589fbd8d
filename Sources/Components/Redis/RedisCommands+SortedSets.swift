// MARK: - Sorted sets

extension RedisCommandSender {
    /// `ZADD key score member …`: how many members were new.
    ///
    /// ```swift
    /// redis.zadd("scores", [(10, "ada"), (7.5, "alan")])
    /// ```
    public func zadd(_ key: String, _ members: [(score: Double, member: String)], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        let arguments = members.flatMap { [RedisArgument($0.score), RedisArgument($0.member)] }
        call(RedisCommand("ZADD", arguments: [RedisArgument(key)] + arguments), completion)
    }

    /// `ZSCORE key member`: nil when it is not in the set.
    public func zscore(_ key: String, _ member: String, _ completion: @escaping (Result<Double?, RedisError>) -> Void) {
        call(RedisCommand("ZSCORE", RedisArgument(key), RedisArgument(member)), completion)
    }

    /// `ZINCRBY key amount member`: the new score.
    public func zincrby(_ key: String, _ member: String, by amount: Double, _ completion: @escaping (Result<Double, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("ZINCRBY", RedisArgument(key), RedisArgument(amount), RedisArgument(member)), completion)
    }

    /// `ZRANGE key start stop [REV]`: members by rank (lowest score first unless `reversed`).
    public func zrange(_ key: String, _ start: Int, _ stop: Int, reversed: Bool = false, _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        let command = RedisCommand(reversed ? "ZREVRANGE" : "ZRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(stop))
        call(command, completion)
    }

    /// `ZRANGE key start stop WITHSCORES`: members with their scores.
    ///
    /// ```swift
    /// redis.zrangeWithScores("scores", 0, -1, reversed: true) { top in print(top) }
    /// ```
    public func zrangeWithScores(
        _ key: String,
        _ start: Int,
        _ stop: Int,
        reversed: Bool = false,
        _ completion: @escaping (Result<[(member: String, score: Double)], RedisError>) -> Void
    ) {
        let command = RedisCommand(reversed ? "ZREVRANGE" : "ZRANGE", RedisArgument(key), RedisArgument(start), RedisArgument(stop), "WITHSCORES")
        call(command, as: [RESPValue].self) { result in
            completion(result.flatMap { replies -> Result<[(member: String, score: Double)], RedisError> in
                // RESP2 answers member, score, member, score…; RESP3 a [member, score] pair each.
                let flat = replies.flatMap { reply in reply.array ?? [reply] }
                guard flat.count % 2 == 0 else { return .failure(RedisError(.unexpectedReply, "WITHSCORES answered \(flat.count) elements")) }
                var pairs: [(member: String, score: Double)] = []
                pairs.reserveCapacity(flat.count / 2)
                for index in stride(from: 0, to: flat.count, by: 2) {
                    do throws(RedisError) {
                        pairs.append((try String(fromRESP: flat[index]), try Double(fromRESP: flat[index + 1])))
                    } catch {
                        return .failure(error)
                    }
                }
                return .success(pairs)
            })
        }
    }

    /// `ZRANGEBYSCORE key min max`: members with `min <= score <= max` (use `-.infinity`/`.infinity`).
    public func zrangeByScore(_ key: String, min: Double, max: Double, _ completion: @escaping (Result<[String], RedisError>) -> Void) {
        call(RedisCommand("ZRANGEBYSCORE", RedisArgument(key), RedisArgument(min), RedisArgument(max)), completion)
    }

    /// `ZRANK key member` (`ZREVRANK` when `reversed`): nil when it is not in the set.
    public func zrank(_ key: String, _ member: String, reversed: Bool = false, _ completion: @escaping (Result<Int?, RedisError>) -> Void) {
        call(RedisCommand(reversed ? "ZREVRANK" : "ZRANK", RedisArgument(key), RedisArgument(member)), completion)
    }

    /// `ZREM key members…`: how many were removed.
    public func zrem(_ key: String, _ members: [String], _ completion: @escaping (Result<Int, RedisError>) -> Void = { _ in }) {
        call(RedisCommand("ZREM", arguments: [RedisArgument(key)] + members.map { RedisArgument($0) }), completion)
    }

    /// `ZCARD key`.
    public func zcard(_ key: String, _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("ZCARD", RedisArgument(key)), completion)
    }

    /// `ZCOUNT key min max`.
    public func zcount(_ key: String, min: Double, max: Double, _ completion: @escaping (Result<Int, RedisError>) -> Void) {
        call(RedisCommand("ZCOUNT", RedisArgument(key), RedisArgument(min), RedisArgument(max)), completion)
    }
}
