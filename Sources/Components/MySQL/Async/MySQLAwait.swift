import WorkermanEventLoop

// The one bridge the MySQL async forms share: a callback-form call becomes `async throws(MySQLError)`
// through the loop's `withCompletion`, so the task resumes on the loop thread and a closed loop or a
// cancelled task surface as `MySQLError` codes, as every callback reports one error type.

extension EventLoop {
    /// Starts `call` and suspends until its callback answers. What `call` returns runs on the loop if
    /// the task is cancelled first (it withdraws what has not been sent); the task then throws `.cancelled`.
    func awaitMySQL<Value>(
        _ api: String,
        server: String,
        _ call: (@escaping (Result<Value, MySQLError>) -> Void) -> (() -> Void)?
    ) async throws(MySQLError) -> Value {
        do {
            return try await withCompletion(api) { (completion: LoopCompletion<Value>) in
                let withdraw = call { result in completion.complete(result.mapError { $0 }) }
                if let withdraw, completion.isPending { completion.onCancel = withdraw }
            }
        } catch let error as MySQLError {
            throw error
        } catch is CancellationError {
            throw MySQLError(.cancelled, "\(api): the awaiting task was cancelled", server: server)
        } catch {
            throw MySQLError(.closed, "\(api): \(error)", server: server)
        }
    }
}
