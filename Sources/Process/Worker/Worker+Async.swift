import WorkermanTransport

extension Worker {
    /// Called with each accepted connection, in the connection's task on the loop thread (it may
    /// `await`); the connection's messages wait until it returns. See `ConnectionHandlers.onConnectAsync`.
    ///
    /// ```swift
    /// worker.onConnectAsync = { connection in
    ///     connection.userInfo["user"] = try await sessions.load(connection.remoteIP)
    /// }
    /// ```
    public var onConnectAsync: ((TCPConnection<C>) async throws -> Void)? {
        get { handlers.onConnectAsync }
        set { handlers.onConnectAsync = newValue }
    }
}
