import WorkermanEventLoop

// The async forms of the GlobalData calls, for tasks on the client's loop (`loop.task`, an async
// handler). Each suspends until the server answers and throws the `GlobalDataError` the callback form
// reports, with the same codes. In a sync context the callback forms are chosen, as before.
extension GlobalDataClient {
    /// The value of `key`, `.null` when it has none.
    ///
    /// ```swift
    /// worker.onMessageAsync = { connection, request in
    ///     let hits = try await globalData.increment("hits")
    ///     connection.send(.response(HTTPResponse(body: "visit \(hits?.intValue ?? 0)")))
    /// }
    /// ```
    public func get(_ key: String) async throws(GlobalDataError) -> PHPValue {
        try await awaitReply("GlobalDataClient.get") { done in get(key, done) }
    }

    /// Sets `key` (`.null` removes it) once the server confirmed.
    public func set(_ key: String, _ value: PHPValue) async throws(GlobalDataError) {
        try await awaitReply("GlobalDataClient.set") { done in set(key, value, done) }
    }

    /// Sets `key` only if it has no value; whether it did.
    @discardableResult
    public func add(_ key: String, _ value: PHPValue) async throws(GlobalDataError) -> Bool {
        try await awaitReply("GlobalDataClient.add") { done in add(key, value, done) }
    }

    /// Removes `key`.
    public func remove(_ key: String) async throws(GlobalDataError) {
        try await awaitReply("GlobalDataClient.remove") { done in remove(key, done) }
    }

    /// Whether `key` has a value.
    public func exists(_ key: String) async throws(GlobalDataError) -> Bool {
        try await awaitReply("GlobalDataClient.exists") { done in exists(key, done) }
    }

    /// Adds `step` to `key` atomically; the new value, nil when `key` has no value.
    @discardableResult
    public func increment(_ key: String, by step: Int = 1) async throws(GlobalDataError) -> PHPValue? {
        try await awaitReply("GlobalDataClient.increment") { done in increment(key, by: step, done) }
    }

    /// Compare-and-swap: sets `key` to `new` only if it is still `expected`; whether it did.
    public func cas(_ key: String, expected: PHPValue, new: PHPValue) async throws(GlobalDataError) -> Bool {
        try await awaitReply("GlobalDataClient.cas") { done in cas(key, expected: expected, new: new, done) }
    }

    /// Runs a callback-form call and suspends until its `done` answers. A closed loop or a cancelled task
    /// surface as `.closed`, so the async forms throw one error type, as the callbacks report one.
    private func awaitReply<Value>(
        _ api: String,
        _ call: (@escaping (Result<Value, GlobalDataError>) throws -> Void) -> Void
    ) async throws(GlobalDataError) -> Value {
        do {
            return try await loop.withCompletion(api) { (completion: LoopCompletion<Value>) in
                call { result in completion.complete(result.mapError { $0 }) }
            }
        } catch let error as GlobalDataError {
            throw error
        } catch {
            throw GlobalDataError(.closed, server: servers.first ?? "", "\(api): \(error)")
        }
    }
}
