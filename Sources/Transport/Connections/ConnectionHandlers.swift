/// The callbacks of a stream connection, declared once: a `Worker`, its `TcpServer` and every connection
/// the server accepts hold the same value. Copying it is one reference count, so a server hands its
/// callbacks to each new connection without copying them one by one; setting a callback on one holder
/// copies the storage first (copy on write), so `connection.onMessage = …` in `onConnect` changes that
/// connection only, as in Workerman.
///
/// ```swift
/// var handlers = ConnectionHandlers<TextCodec>()
/// handlers.onMessage = { connection, line in connection.send(line) }
/// server.handlers = handlers
/// ```
public struct ConnectionHandlers<C: Codec> {
    public typealias Connection = TcpConnection<C>

    /// One allocation for all callbacks; nil while none is set, so a cleared connection holds nothing.
    @usableFromInline
    final class Storage {
        @usableFromInline var onConnect: ((Connection) throws -> Void)?
        @usableFromInline var onMessage: ((Connection, C.Message) throws -> Void)?
        @usableFromInline var onClose: ((Connection) throws -> Void)?
        @usableFromInline var onError: ((Connection, TransportError) throws -> Void)?
        @usableFromInline var onBufferFull: ((Connection) throws -> Void)?
        @usableFromInline var onBufferDrain: ((Connection) throws -> Void)?
        @usableFromInline var onCodecEvent: ((Connection, C.Event) throws -> Void)?

        init() {}

        init(copying other: Storage) {
            onConnect = other.onConnect
            onMessage = other.onMessage
            onClose = other.onClose
            onError = other.onError
            onBufferFull = other.onBufferFull
            onBufferDrain = other.onBufferDrain
            onCodecEvent = other.onCodecEvent
        }
    }

    @usableFromInline var storage: Storage?

    public init() {}

    /// The storage, made unique to this value before a change.
    private var unique: Storage {
        mutating get {
            guard let storage else {
                let fresh = Storage()
                self.storage = fresh
                return fresh
            }
            if isKnownUniquelyReferenced(&self.storage!) { return storage }
            let copy = Storage(copying: storage)
            self.storage = copy
            return copy
        }
    }

    /// Called when a connection is established: accepted by a server, or connected by a client (again
    /// after every reconnect).
    public var onConnect: ((Connection) throws -> Void)? {
        get { storage?.onConnect }
        set { unique.onConnect = newValue }
    }

    /// Called with each decoded message.
    @inlinable
    public var onMessage: ((Connection, C.Message) throws -> Void)? {
        get { storage?.onMessage }
        set { setOnMessage(newValue) }
    }

    @usableFromInline
    mutating func setOnMessage(_ handler: ((Connection, C.Message) throws -> Void)?) { unique.onMessage = handler }

    /// Called once, whatever closed the connection.
    public var onClose: ((Connection) throws -> Void)? {
        get { storage?.onClose }
        set { unique.onClose = newValue }
    }

    /// Called with Workerman's codes: `.sendFailed` (peer gone, or buffer full), `.connectFailed`,
    /// `.protocolError` (the codec rejected the stream).
    public var onError: ((Connection, TransportError) throws -> Void)? {
        get { storage?.onError }
        set { unique.onError = newValue }
    }

    /// Called when queued output reaches `maxSendBufferSize` (possibly many times).
    public var onBufferFull: ((Connection) throws -> Void)? {
        get { storage?.onBufferFull }
        set { unique.onBufferFull = newValue }
    }

    /// Called each time queued output drains to empty.
    public var onBufferDrain: ((Connection) throws -> Void)? {
        get { storage?.onBufferDrain }
        set { unique.onBufferDrain = newValue }
    }

    /// Called with what the codec reports besides messages (a WebSocket handshake, ping or close).
    public var onCodecEvent: ((Connection, C.Event) throws -> Void)? {
        get { storage?.onCodecEvent }
        set { unique.onCodecEvent = newValue }
    }
}

/// Forwards each connection callback to a `handlers` value, so the holders keep Workerman's spelling
/// (`server.onMessage = …`) while the callbacks are declared once. (`onConnect` is forwarded by the
/// server and the worker themselves: a client connection has its own, typed for the client.)
public protocol HasConnectionHandlers: AnyObject {
    associatedtype C: Codec
    var handlers: ConnectionHandlers<C> { get set }
}

extension HasConnectionHandlers {
    /// See `ConnectionHandlers.onMessage`.
    public var onMessage: ((TcpConnection<C>, C.Message) throws -> Void)? {
        get { handlers.onMessage }
        set { handlers.onMessage = newValue }
    }

    /// See `ConnectionHandlers.onClose`.
    public var onClose: ((TcpConnection<C>) throws -> Void)? {
        get { handlers.onClose }
        set { handlers.onClose = newValue }
    }

    /// See `ConnectionHandlers.onError`.
    public var onError: ((TcpConnection<C>, TransportError) throws -> Void)? {
        get { handlers.onError }
        set { handlers.onError = newValue }
    }

    /// See `ConnectionHandlers.onBufferFull`.
    public var onBufferFull: ((TcpConnection<C>) throws -> Void)? {
        get { handlers.onBufferFull }
        set { handlers.onBufferFull = newValue }
    }

    /// See `ConnectionHandlers.onBufferDrain`.
    public var onBufferDrain: ((TcpConnection<C>) throws -> Void)? {
        get { handlers.onBufferDrain }
        set { handlers.onBufferDrain = newValue }
    }

    /// See `ConnectionHandlers.onCodecEvent`.
    public var onCodecEvent: ((TcpConnection<C>, C.Event) throws -> Void)? {
        get { handlers.onCodecEvent }
        set { handlers.onCodecEvent = newValue }
    }
}
