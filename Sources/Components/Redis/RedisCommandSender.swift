import WorkermanEventLoop
import WorkermanTransport

/// Anything that runs Redis commands: a `RedisClient` or a `RedisPool`. The typed helpers (`get`, `hset`,
/// `zadd`, …), `call`, `pipeline` and `transaction` are written once, here, for both.
///
/// ```swift
/// func countVisit(_ redis: some RedisCommandSender) {
///     redis.increment("visits") { count in print(count) }
/// }
/// ```
public protocol RedisCommandSender: AnyObject {
    /// The loop the commands run on (and the async forms resume on).
    var loop: EventLoop { get }
    /// Sends `command`; `reply` runs once on the loop with the answer (`-ERR` answers are failures).
    func send(_ command: RedisCommand, _ reply: ((Result<RESPValue, RedisError>) -> Void)?)
    /// Sends `commands` back to back on one connection (as one write when it is up); `reply` runs once
    /// per command, with its index, in order.
    func send(batch commands: [RedisCommand], _ reply: @escaping (Int, Result<RESPValue, RedisError>) -> Void)
}

extension RedisClient {
    public func send(batch commands: [RedisCommand], _ reply: @escaping (Int, Result<RESPValue, RedisError>) -> Void) {
        enqueue(batch: commands, reply)
    }
}

extension RedisCommandSender {
    /// Sends `command` and reads the reply as `T` (`String?`, `Int`, `[String]`, `[String: String]`…):
    /// a reply of another shape fails with `.unexpectedReply`.
    ///
    /// ```swift
    /// redis.call(["HGETALL", "user:1"], as: [String: String].self) { fields in print(fields) }
    /// ```
    public func call<T: RESPDecodable>(
        _ command: RedisCommand,
        as type: T.Type = T.self,
        _ completion: @escaping (Result<T, RedisError>) -> Void
    ) {
        send(command) { reply in
            completion(reply.flatMap { value in Result { () throws(RedisError) -> T in try T(fromRESP: value) } })
        }
    }

    /// Sends `command` and reports only success or failure (for `OK` answers).
    func callForStatus(_ command: RedisCommand, _ completion: @escaping (Result<Void, RedisError>) -> Void) {
        send(command) { reply in completion(reply.map { _ in }) }
    }

    /// Sends `commands` as one pipeline; `completion` gets every reply, in order, once all are in.
    ///
    /// ```swift
    /// redis.pipeline((0..<1000).map { RedisCommand("SET", RedisArgument("k\($0)"), "v") }) { replies in
    ///     print(replies.filter { (try? $0.get()) == nil }.count, "failed")
    /// }
    /// ```
    public func pipeline(_ commands: [RedisCommand], _ completion: @escaping ([Result<RESPValue, RedisError>]) -> Void) {
        guard !commands.isEmpty else { return completion([]) }
        var results = [Result<RESPValue, RedisError>](repeating: .success(.null), count: commands.count)
        var remaining = commands.count
        send(batch: commands) { index, result in
            results[index] = result
            remaining -= 1
            if remaining == 0 { completion(results) }
        }
    }

    /// Runs `commands` atomically with `MULTI`/`EXEC`; the replies come in order (an element that failed
    /// inside the transaction is an `.error` value). A queued command Redis refused fails the whole with
    /// `.server`; a `WATCH`ed key that changed fails it with `.transactionAborted`.
    ///
    /// ```swift
    /// redis.transaction([["INCR", "a"], ["INCR", "b"]]) { result in print(try? result.get()) }
    /// ```
    public func transaction(_ commands: [RedisCommand], _ completion: @escaping (Result<[RESPValue], RedisError>) -> Void) {
        var firstError: RedisError?
        let last = commands.count + 1
        send(batch: [["MULTI"]] + commands + [["EXEC"]]) { index, result in
            switch result {
            case .failure(let error):
                if firstError == nil { firstError = error }
                if index == last { completion(.failure(firstError ?? error)) }
            case .success(let value) where index == last:
                if let firstError { return completion(.failure(firstError)) }
                switch value {
                case .array(let replies): completion(.success(replies))
                case .null: completion(.failure(RedisError(.transactionAborted, "a watched key changed; nothing ran")))
                default: completion(.failure(RedisError(.unexpectedReply, "EXEC answered \(value)")))
                }
            case .success:
                break
            }
        }
    }
}
