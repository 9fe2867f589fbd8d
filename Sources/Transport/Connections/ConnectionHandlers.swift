/// The callbacks of a stream connection, declared once: a `Worker`, its `TCPServer` and every connection
/// the server accepts hold the same value. Copying it is one reference count, so a server hands its
/// callbacks to each new connection without copying them one by one; setting a callback on one holder
/// gives that holder new storage, so `connection.onMessage = …` in `onConnect` changes that connection
/// only, as in Workerman.
///
/// ```swift
/// var handlers = ConnectionHandlers<TextCodec>()
/// handlers.onMessage = { connection, line in connection.send(line) }
/// server.handlers = handlers
/// ```
public struct ConnectionHandlers<C: Codec> {
    public typealias Connection = TCPConnection<C>

    /// One allocation for all callbacks; nil while none is set, so a cleared connection holds nothing.
    /// Immutable: a change makes a new storage (callbacks are set rarely, read on every message), so
    /// reading a callback is a plain load, with no exclusivity check and no uniqueness test.
    @usableFromInline
    final class Storage {
        @usableFromInline let onConnect: ((Connection) throws -> Void)?
        @usableFromInline let onMessage: ((Connection, C.Message) throws -> Void)?
        @usableFromInline let onClose: ((Connection) throws -> Void)?
        @usableFromInline let onError: ((Connection, TransportError) throws -> Void)?
        @usableFromInline let onBufferFull: ((Connection) throws -> Void)?
        @usableFromInline let onBufferDrain: ((Connection) throws -> Void)?
        @usableFromInline let onCodecEvent: ((Connection, C.Event) throws -> Void)?
        /// Read before every codec call (`CodecContext.wantsEvents`): a plain flag, where testing the
        /// closure for nil would copy it.
        @usableFromInline let hasCodecEventHandler: Bool
        /// The async forms (`onMessageAsync`, …) and their settings; the sync callbacks above hold the
        /// dispatchers that run them. Read only on the async path.
        @usableFromInline let async: AsyncHandlers<C>

        init(
            onConnect: ((Connection) throws -> Void)?,
            onMessage: ((Connection, C.Message) throws -> Void)?,
            onClose: ((Connection) throws -> Void)?,
            onError: ((Connection, TransportError) throws -> Void)?,
            onBufferFull: ((Connection) throws -> Void)?,
            onBufferDrain: ((Connection) throws -> Void)?,
            onCodecEvent: ((Connection, C.Event) throws -> Void)?,
            async: AsyncHandlers<C>
        ) {
            self.onConnect = onConnect
            self.onMessage = onMessage
            self.onClose = onClose
            self.onError = onError
            self.onBufferFull = onBufferFull
            self.onBufferDrain = onBufferDrain
            self.onCodecEvent = onCodecEvent
            hasCodecEventHandler = onCodecEvent != nil
            self.async = async
        }
    }

    @usableFromInline var storage: Storage?

    public init() {}

    /// Replaces the storage with one that differs in what `change` sets.
    mutating func update(_ change: (inout Fields) -> Void) {
        var fields = Fields(storage)
        change(&fields)
        storage = Storage(
            onConnect: fields.onConnect,
            onMessage: fields.onMessage,
            onClose: fields.onClose,
            onError: fields.onError,
            onBufferFull: fields.onBufferFull,
            onBufferDrain: fields.onBufferDrain,
            onCodecEvent: fields.onCodecEvent,
            async: fields.async
        )
    }

    /// The callbacks as plain values while one is changed.
    struct Fields {
        var onConnect: ((Connection) throws -> Void)?
        var onMessage: ((Connection, C.Message) throws -> Void)?
        var onClose: ((Connection) throws -> Void)?
        var onError: ((Connection, TransportError) throws -> Void)?
        var onBufferFull: ((Connection) throws -> Void)?
        var onBufferDrain: ((Connection) throws -> Void)?
        var onCodecEvent: ((Connection, C.Event) throws -> Void)?
        var async: AsyncHandlers<C>

        init(_ storage: Storage?) {
            onConnect = storage?.onConnect
            onMessage = storage?.onMessage
            onClose = storage?.onClose
            onError = storage?.onError
            onBufferFull = storage?.onBufferFull
            onBufferDrain = storage?.onBufferDrain
            onCodecEvent = storage?.onCodecEvent
            async = storage?.async ?? AsyncHandlers()
        }
    }

    /// Called when a connection is established: accepted by a server, or connected by a client (again
    /// after every reconnect).
    public var onConnect: ((Connection) throws -> Void)? {
        get { storage?.onConnect }
        set {
            update {
                $0.onConnect = newValue
                $0.async.onConnect = nil
            }
        }
    }

    /// Called with each decoded message.
    @inlinable
    public var onMessage: ((Connection, C.Message) throws -> Void)? {
        get { storage?.onMessage }
        set { setOnMessage(newValue) }
    }

    @usableFromInline
    mutating func setOnMessage(_ handler: ((Connection, C.Message) throws -> Void)?) {
        update {
            $0.onMessage = handler
            $0.async.onMessage = nil
        }
    }

    /// Called once, whatever closed the connection.
    public var onClose: ((Connection) throws -> Void)? {
        get { storage?.onClose }
        set {
            update {
                $0.onClose = newValue
                $0.async.onClose = nil
            }
        }
    }

    /// Called with Workerman's codes: `.sendFailed` (peer gone, or buffer full), `.connectFailed`,
    /// `.protocolError` (the codec rejected the stream).
    public var onError: ((Connection, TransportError) throws -> Void)? {
        get { storage?.onError }
        set { update { $0.onError = newValue } }
    }

    /// Called when queued output reaches `maxSendBufferSize` (possibly many times).
    public var onBufferFull: ((Connection) throws -> Void)? {
        get { storage?.onBufferFull }
        set { update { $0.onBufferFull = newValue } }
    }

    /// Called each time queued output drains to empty.
    public var onBufferDrain: ((Connection) throws -> Void)? {
        get { storage?.onBufferDrain }
        set { update { $0.onBufferDrain = newValue } }
    }

    /// Called with what the codec reports besides messages (a WebSocket handshake, ping or close).
    public var onCodecEvent: ((Connection, C.Event) throws -> Void)? {
        get { storage?.onCodecEvent }
        set { update { $0.onCodecEvent = newValue } }
    }
}

/// Forwards each connection callback to a `handlers` value, so the holders keep Workerman's spelling
/// (`server.onMessage = …`) while the callbacks are declared once. (`onConnect` is forwarded by each
/// holder itself: a client connection fires it on every connect, a server on every accept.)
public protocol HasConnectionHandlers: AnyObject {
    associatedtype C: Codec
    var handlers: ConnectionHandlers<C> { get set }
}

extension HasConnectionHandlers {
    /// See `ConnectionHandlers.onMessage`.
    public var onMessage: ((TCPConnection<C>, C.Message) throws -> Void)? {
        get { handlers.onMessage }
        set { handlers.onMessage = newValue }
    }

    /// See `ConnectionHandlers.onClose`.
    public var onClose: ((TCPConnection<C>) throws -> Void)? {
        get { handlers.onClose }
        set { handlers.onClose = newValue }
    }

    /// See `ConnectionHandlers.onError`.
    public var onError: ((TCPConnection<C>, TransportError) throws -> Void)? {
        get { handlers.onError }
        set { handlers.onError = newValue }
    }

    /// See `ConnectionHandlers.onBufferFull`.
    public var onBufferFull: ((TCPConnection<C>) throws -> Void)? {
        get { handlers.onBufferFull }
        set { handlers.onBufferFull = newValue }
    }

    /// See `ConnectionHandlers.onBufferDrain`.
    public var onBufferDrain: ((TCPConnection<C>) throws -> Void)? {
        get { handlers.onBufferDrain }
        set { handlers.onBufferDrain = newValue }
    }

    /// See `ConnectionHandlers.onCodecEvent`.
    public var onCodecEvent: ((TCPConnection<C>, C.Event) throws -> Void)? {
        get { handlers.onCodecEvent }
        set { handlers.onCodecEvent = newValue }
    }
}
