// The async forms of the connection callbacks. Setting one installs a plain sync callback that hands the
// work to the connection's `ConnectionTasks`; the sync callbacks themselves, and the path a message takes
// to them, are unchanged, so a worker with sync callbacks pays nothing for this.

/// The async callbacks of a stream connection and their settings, kept in `ConnectionHandlers`.
public struct AsyncHandlers<C: Codec> {
    public typealias Connection = TCPConnection<C>

    @usableFromInline var onConnect: ((Connection) async throws -> Void)?
    @usableFromInline var onMessage: ((Connection, C.Message) async throws -> Void)?
    @usableFromInline var onClose: ((Connection) async throws -> Void)?
    /// See `ConnectionHandlers.maxQueuedMessages`.
    @usableFromInline var maxQueuedMessages = 16

    init() {}
}

extension ConnectionHandlers {
    /// Called with each decoded message, in a task on the loop thread: it may `await`. A connection's
    /// messages are handled one at a time, in order (the next waits until the handler of the one before
    /// returns), so pipelined HTTP requests are answered in order. The handler starts at once, inside the
    /// read that brought its message, and runs on until its first suspension; when it finishes without
    /// suspending (no real `await`), it costs about what a sync handler costs.
    ///
    /// A handler that throws is logged and counted (`throw_exception`) and its connection closed, after an
    /// error answer where the protocol has one (an HTTP 500 when no response was started). Closing the
    /// connection cancels the task. Replaces `onMessage`.
    ///
    /// ```swift
    /// worker.onMessageAsync = { connection, request in
    ///     let hits = try await globalData.increment("hits")
    ///     connection.send(HTTPResponse(body: "hit \(hits)"))
    /// }
    /// ```
    public var onMessageAsync: ((Connection, C.Message) async throws -> Void)? {
        get { storage?.async.onMessage }
        set {
            update { fields in
                fields.async.onMessage = newValue
                // Through the codec: its `submitAsync` is compiled for it (see `ConnectionTasks`).
                fields.onMessage = newValue == nil ? nil : { connection, message in C.submitAsync(message, on: connection) }
            }
        }
    }

    /// Called when a connection is established, in the connection's task: its messages wait until it
    /// returns (say, to load the session they need). A throw closes the connection. Replaces `onConnect`.
    public var onConnectAsync: ((Connection) async throws -> Void)? {
        get { storage?.async.onConnect }
        set {
            update { fields in
                fields.async.onConnect = newValue
                fields.onConnect = newValue == nil ? nil : { connection in C.submitAsyncConnect(on: connection) }
            }
        }
    }

    /// Called once the connection closed, in a task of its own (the connection's message task was
    /// cancelled by then). A graceful stop waits for it. Replaces `onClose`.
    public var onCloseAsync: ((Connection) async throws -> Void)? {
        get { storage?.async.onClose }
        set {
            update { fields in
                fields.async.onClose = newValue
                fields.onClose = newValue == nil ? nil : { connection in ConnectionTasks.runOnClose(connection) }
            }
        }
    }

    /// How many decoded messages may wait behind an async handler that is still running before the
    /// connection stops reading (back-pressure: the peer's further bytes wait in the kernel, and its
    /// sends block). Reading resumes once the handler has caught up. Default 16; at least 1.
    public var maxQueuedMessages: Int {
        get { storage?.async.maxQueuedMessages ?? AsyncHandlers<C>().maxQueuedMessages }
        set { update { $0.async.maxQueuedMessages = max(1, newValue) } }
    }
}

extension HasConnectionHandlers {
    /// See `ConnectionHandlers.onMessageAsync`.
    public var onMessageAsync: ((TCPConnection<C>, C.Message) async throws -> Void)? {
        get { handlers.onMessageAsync }
        set { handlers.onMessageAsync = newValue }
    }

    /// See `ConnectionHandlers.onCloseAsync`.
    public var onCloseAsync: ((TCPConnection<C>) async throws -> Void)? {
        get { handlers.onCloseAsync }
        set { handlers.onCloseAsync = newValue }
    }

    /// See `ConnectionHandlers.maxQueuedMessages`.
    public var maxQueuedMessages: Int {
        get { handlers.maxQueuedMessages }
        set { handlers.maxQueuedMessages = newValue }
    }
}

/// A codec whose protocol has an answer for a request whose async handler threw (HTTP's 500). The
/// connection closes after it.
public protocol AnswersFailedHandlers: Codec {
    /// Sends the error answer on `connection` if the failed message still needs one; `waitingMessages`
    /// decoded messages queued behind it are dropped unanswered.
    static func answerFailedHandler(on connection: TCPConnection<Self>, waitingMessages: Int)
}
