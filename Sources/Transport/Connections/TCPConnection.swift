import WorkermanEventLoop

/// A stream connection (TCP or unix) driven by codec `C`: Workerman's `TCPConnection`, typed. One that a
/// server accepted, or a client this program connects (`TCPClient<C>`, the same class in the client
/// role: see `TCPConnection+Client.swift`).
///
/// ```swift
/// server.onMessage = { connection, line in      // TCPConnection<TextCodec>, String
///     connection.send("you said: \(line)")
/// }
/// ```
public final class TCPConnection<C: Codec>: Connection, HasConnectionHandlers, ConnectionOwner {
    /// The connection's codec: its per-connection state and settings. Unchecked exclusivity, as
    /// `Connection`'s buffers: every codec call is a mutation that calls out.
    @exclusivity(unchecked) public var codec: C

    /// The callbacks, shared with the server that accepted the connection until one is changed here
    /// (see `ConnectionHandlers`). Set them one by one as `connection.onMessage = …`.
    @exclusivity(unchecked) public final var handlers = ConnectionHandlers<C>()

    /// Accepted by a server, or connected by this program (with the client's connect state).
    @usableFromInline let role: ConnectionRole<C>

    /// A connection over `stream`, starting in `state` (an accepted connection starts `established`).
    /// Package-visible for the embedded connection of WorkermanTestSupport, which runs one over a
    /// scripted stream.
    package init(
        context: TransportContext,
        stream: any ByteStream,
        state: ConnectionLifecycle.State,
        transport: TransportKind,
        remoteAddress: SocketAddress?,
        codec: C = C(),
        role: ConnectionRole<C> = .accepted
    ) {
        self.codec = codec
        self.role = role
        super.init(context: context, stream: stream, state: state, transport: transport, remoteAddress: remoteAddress)
    }

    public override var codecName: String { C.self == RawCodec.self ? "raw" : String(describing: C.self) }

    /// A codec context for this connection. Not inlinable on purpose: from another module, the fields
    /// it reads are reached through their accessors (the `onCodecEvent` check copied the closure).
    @usableFromInline
    final func makeCodecContext() -> CodecContext {
        var codecContext = CodecContext(maxPackageSize: maxPackageSize, isClient: isClient)
        renew(&codecContext)
        return codecContext
    }

    /// Readies a context used before for the next codec call: the connection's current settings, no
    /// effects asked.
    @usableFromInline
    final func renew(_ codecContext: inout CodecContext) {
        codecContext.renew(maxPackageSize: maxPackageSize, isDraining: isDraining, wantsEvents: handlers.storage?.hasCodecEventHandler ?? false)
    }

    /// Starts an accepted connection: `owner` keeps it, the codec learns the peer's address, the loop
    /// watches it. The one way a server (or an embedded connection in tests) brings a connection up.
    package func startAccepted(by owner: ConnectionOwner) throws(TransportError) {
        self.owner = owner
        codec.connectionAccepted(remoteAddress: remoteAddress)
        try startWatching(for: .readable)
        context.statistics.connections += 1
    }

    /// Whether this program connected it (its codec then speaks as the client: WebSocket masking).
    @usableFromInline var isClient: Bool { role.isClient }

    /// Called when the connection is established: by a client each time it connects (again after every
    /// reconnect); a connection a server accepted gets the server's, which has run by the time user code
    /// holds the connection.
    public var onConnect: ((TCPConnection<C>) throws -> Void)? {
        get { handlers.onConnect }
        set { handlers.onConnect = newValue }
    }

    // MARK: - Sending

    /// Encodes `message` with the codec and sends it. See `SendResult` for what the answer means.
    @discardableResult
    ///
    /// Inlinable, so a call from code that knows the codec compiles specialized for it: the message then
    /// moves as its own type, not through value-witness calls (a twentieth of a small HTTP exchange).
    @inlinable
    public final func send(_ message: C.Outbound) -> SendResult {
        guard lifecycle.state.rawValue < ConnectionLifecycle.State.closing.rawValue else { return .failed }
        var scratch = ByteBuffer()
        swap(&scratch, &context.encodeScratch)
        scratch.clear()
        var codecContext = makeCodecContext()
        codecContext.maxSendBufferSize = maxSendBufferSize
        codec.encode(message, into: &scratch, &codecContext)
        // A close the codec asks for while encoding (an HTTP response to a request that did not want
        // keep-alive) follows the encoded bytes: closing first would drop them.
        let closeAfterSending = codecContext.closeRequested
        codecContext.closeRequested = false
        if codecContext.hasEffects { apply(&codecContext) }
        let result: SendResult
        if scratch.isEmpty {
            // The codec parked it (Workerman's encode returning ''), or refused to hold any more.
            result = codecContext.sendRefused ? refuseParkedSend() : .queued
        } else {
            result = scratch.withReadableBytes { sendBytes($0, keeping: scratch) }
        }
        if scratch.capacity <= 64 * 1024 {
            swap(&scratch, &context.encodeScratch)  // keep the scratch unless one send made it huge
        }
        if closeAfterSending { close() }
        return result
    }

    /// Sends `message`, then closes once it is written (Workerman's `close($data)`).
    public func close(with message: C.Outbound) {
        guard lifecycle.isOpen else {
            close()
            return
        }
        send(message)
        close()
    }

    // MARK: - Hooks for the base class

    /// Closes after everything queued is sent (see `Connection.close()`); a client also cancels a
    /// pending reconnect.
    public override func close() {
        if role.isClient {
            closeClient()
        } else {
            closeAfterFlushing()
        }
    }

    override func finishConnecting() {
        if let client = role.client { finishClientConnect(client) }
    }

    override func processReceived(_ bytes: UnsafeRawBufferPointer) -> Int {
        C.runDriver(over: bytes, on: self)
    }

    override func askCodecToSayGoodbye() -> Bool {
        var codecContext = makeCodecContext()
        let codecCloses = codec.connectionDraining(&codecContext)
        if codecContext.hasEffects { apply(&codecContext) }
        return codecCloses && lifecycle.isOpen
    }

    // MARK: - Callbacks

    override func fireClose() {
        cancelTimeout()
        guard let onClose = handlers.storage?.onClose else { return }
        invokeUserCallback(.onClose) { try onClose(self) }
    }

    override func fireError(_ error: TransportError) {
        guard let onError = handlers.storage?.onError else { return }
        invokeUserCallback(.onError) { try onError(self, error) }
    }

    override func fireBufferFull() {
        guard let onBufferFull = handlers.storage?.onBufferFull else { return }
        invokeUserCallback(.onBufferFull) { try onBufferFull(self) }
    }

    override func fireBufferDrain() {
        guard let onBufferDrain = handlers.storage?.onBufferDrain else { return }
        invokeUserCallback(.onBufferDrain) { try onBufferDrain(self) }
    }

    /// Drops every callback (one release: the storage may be shared with the server).
    override func clearCallbacks() {
        handlers = ConnectionHandlers()
    }
}

extension TCPConnection where C.Outbound == ByteBuffer {
    /// Sends what `source` receives to this connection, with back-pressure: `source` pauses while this
    /// connection's buffer is full and resumes when it drains; closing `source` closes this one
    /// (Workerman's `pipe()`; call it both ways for a proxy).
    public func pipe<S>(from source: TCPConnection<S>) where S.Message == ByteBuffer {
        pipeSource = source
        source.onMessage = { [weak self] _, bytes in self?.send(bytes) }
        source.onClose = { [weak self] _ in self?.close() }
    }
}

extension TCPConnection where C.Message == ByteBuffer {
    /// Pipes this connection into `destination` (see `pipe(from:)`).
    public func pipe<D>(to destination: TCPConnection<D>) where D.Outbound == ByteBuffer {
        destination.pipe(from: self)
    }
}
