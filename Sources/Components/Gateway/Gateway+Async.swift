import WorkermanEventLoop

// The async forms of the presence queries, for tasks on the gateway's loop (`loop.task`, an async
// handler). Each suspends until the answer is in (a Redis round trip on the Redis backend, the next
// tick on a Channel server). Pushes, binding and groups need no async form: they never wait (they go
// out at once or queue while the backend is away, as `ChannelClient.publish` does), so a task calls
// `send(toUser:)`, `join(_:group:)`… as they are.
//
// Cancellation: a cancelled task throws `CancellationError` at once; the query's late answer is dropped.
extension Gateway {
    /// Whether any client, in any process, is bound to `user`.
    ///
    /// ```swift
    /// worker.onMessageAsync = { connection, request in
    ///     let online = try await gateway.isOnline(user: "alice")
    ///     if !online { try await mailer.queue(to: "alice") } else { gateway.send(toUser: "alice", "ping") }
    /// }
    /// ```
    public func isOnline(user: String) async throws -> Bool {
        try await awaitAnswer("Gateway.isOnline") { isOnline(user: user, $0) }
    }

    /// The ids of `user`'s clients, in every process, sorted.
    public func clients(ofUser user: String) async throws -> [GatewayClientID] {
        try await awaitAnswer("Gateway.clients") { clients(ofUser: user, $0) }
    }

    /// How many clients are in `group`, in every process.
    ///
    /// ```swift
    /// let members = try await gateway.count(group: "room1")
    /// ```
    public func count(group: String) async throws -> Int {
        try await awaitAnswer("Gateway.count") { count(group: group, $0) }
    }

    /// The distinct users of the clients in `group`, sorted.
    public func users(inGroup group: String) async throws -> [String] {
        try await awaitAnswer("Gateway.users") { users(inGroup: group, $0) }
    }

    /// How many clients are connected, in every process.
    public func count() async throws -> Int {
        try await awaitAnswer("Gateway.count") { count($0) }
    }

    private func awaitAnswer<Value>(_ api: String, _ query: (@escaping (Value) -> Void) -> Void) async throws -> Value {
        try await loop.withCompletion(api) { (completion: LoopCompletion<Value>) in
            query { completion.succeed($0) }
        }
    }
}
