import WorkermanEventLoop

/// A stream connection (TCP or unix) driven by codec `C`: Workerman's `TCPConnection`, typed.
///
/// ```swift
/// server.onMessage = { connection, line in      // TCPConnection<TextCodec>, String
///     connection.send("you said: \(line)")
/// }
/// ```
public class TCPConnection<C: Codec>: Connection {
    /// The connection's codec: its per-connection state and settings. Unchecked exclusivity, as
    /// `Connection`'s buffers: every codec call is a mutation that calls out.
    @exclusivity(unchecked) public var codec: C

    /// Called with each decoded message.
    @exclusivity(unchecked) public var onMessage: ((TCPConnection<C>, C.Message) throws -> Void)?
    /// Called once, whatever closed the connection.
    @exclusivity(unchecked) public var onClose: ((TCPConnection<C>) throws -> Void)?
    /// Called with Workerman's codes: `.sendFailed` (peer gone, or buffer full), `.connectFailed`,
    /// `.protocolError` (the codec rejected the stream).
    @exclusivity(unchecked) public var onError: ((TCPConnection<C>, TransportError) throws -> Void)?
    /// Called when queued output reaches `maxSendBufferSize` (possibly many times).
    @exclusivity(unchecked) public var onBufferFull: ((TCPConnection<C>) throws -> Void)?
    /// Called each time queued output drains to empty.
    @exclusivity(unchecked) public var onBufferDrain: ((TCPConnection<C>) throws -> Void)?
    /// Called with what the codec reports besides messages (a WebSocket handshake, ping or close).
    @exclusivity(unchecked) public var onCodecEvent: ((TCPConnection<C>, C.Event) throws -> Void)?

    init(
        context: TransportContext,
        fd: CInt,
        status: ConnectionStatus,
        transport: TransportKind,
        remoteAddress: SocketAddress?,
        codec: C = C()
    ) {
        self.codec = codec
        super.init(context: context, fd: fd, status: status, transport: transport, remoteAddress: remoteAddress)
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
        codecContext.renew(maxPackageSize: maxPackageSize, isDraining: isDraining, wantsEvents: onCodecEvent != nil)
    }

    /// Overridden by client connections.
    @usableFromInline var isClient: Bool { false }

    // MARK: - Sending

    /// Encodes `message` with the codec and sends it. See `SendResult` for what the answer means.
    @discardableResult
    ///
    /// Inlinable, so a call from code that knows the codec compiles specialized for it: the message then
    /// moves as its own type, not through value-witness calls (a twentieth of a small HTTP exchange).
    @inlinable
    public final func send(_ message: C.Outbound) -> SendResult {
        guard status != .closing && status != .closed else { return .failed }
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
        guard status == .established else {
            close()
            return
        }
        send(message)
        close()
    }

    /// Applies the side effects a codec asked for: replies first, then pause or close.
    @usableFromInline func apply(_ codecContext: inout CodecContext) {
        if !codecContext.replies.isEmpty {
            let replies = codecContext.takeReplies()
            _ = replies.withReadableBytes { sendBytes($0, keeping: nil) }
        }
        // Pause before the events: their handler may resume at once (a WebSocket handshake accepted inside
        // onCodecEvent), and a pause applied after it would never be lifted.
        if codecContext.pauseRequested { pauseReceiving() }
        if codecContext.eventPending {
            while status != .closed, let event = codec.takeEvent() {
                guard let onCodecEvent else { continue }
                invokeUserCallback(.onCodecEvent) { try onCodecEvent(self, event) }
            }
        }
        if codecContext.closeRequested { close() }
    }

    // MARK: - Receiving

    override func processReceived(_ bytes: UnsafeRawBufferPointer) -> Int {
        C.process(bytes, on: self)
    }

    /// The receive loop: runs the codec over `bytes` (the unprocessed received bytes) until it needs more,
    /// delivering each message to `onMessage`; returns how many bytes were used. Stops early when paused
    /// or closing.
    ///
    /// Inlinable so that a codec's `Codec.process(_:on:)` compiles it specialized for that codec (see
    /// there): the generic version pays for value-witness copies of each message and a metadata lookup
    /// per call, a tenth of a small HTTP request's instructions.
    @inlinable
    public final func runCodec(on bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        // One context for the whole read, renewed before each codec call: making and dropping one per
        // call went through outlined value-witness calls from the codec's module.
        var codecContext = makeCodecContext()
        while offset < bytes.count && !isPaused && status == .established {
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            if knownLength > 0 {
                guard remaining.count >= knownLength else { break }
                let length = knownLength
                knownLength = 0
                deliver(UnsafeRawBufferPointer(rebasing: remaining[..<length]), &codecContext)
                offset += length
                continue
            }
            if offset > 0 { renew(&codecContext) }
            let decision = codec.input(remaining, &codecContext)
            switch decision {
            case .needMore:
                if codecContext.hasEffects { apply(&codecContext) }
                return offset
            case .consumed(let length):
                if codecContext.hasEffects { apply(&codecContext) }
                precondition(length > 0 && length <= remaining.count, "\(C.self).input consumed \(length) of \(remaining.count) bytes")
                offset += length
            case .message(let length):
                if codecContext.hasEffects { apply(&codecContext) }
                guard length > 0, length <= maxPackageSize else {
                    reject(CodecRejection("package length \(length) exceeds maxPackageSize \(maxPackageSize)", code: 413))
                    return bytes.count
                }
                guard remaining.count >= length else {
                    knownLength = length
                    return offset
                }
                deliver(UnsafeRawBufferPointer(rebasing: remaining[..<length]), &codecContext)
                offset += length
            case .reject(let rejection):
                reject(rejection, replies: &codecContext)
                return bytes.count
            }
        }
        return offset
    }

    @inlinable
    final func deliver(_ packet: UnsafeRawBufferPointer, _ codecContext: inout CodecContext) {
        renew(&codecContext)
        let decoded: C.Message?
        do {
            decoded = try codec.decode(packet, &codecContext)
        } catch {
            reject(error, replies: &codecContext)
            return
        }
        countRequest()
        if codecContext.hasEffects { apply(&codecContext) }
        guard let onMessage, let message = consume decoded else { return }
        // Called directly rather than through `invokeUserCallback`'s closure: capturing the message made
        // a copy of it (and its destruction) per message.
        loop.noteActivity(.onMessage, subject: UInt64(id))
        do {
            try onMessage(self, message)
        } catch {
            callbackFailed(.onMessage, error)
        }
    }

    /// Sends the answer a rejecting codec queued (if any), then rejects the stream.
    @usableFromInline
    final func reject(_ rejection: CodecRejection, replies codecContext: inout CodecContext) {
        if !codecContext.replies.isEmpty {
            let replies = codecContext.takeReplies()
            _ = replies.withReadableBytes { sendBytes($0, keeping: nil) }
        }
        reject(rejection)
    }

    /// The stream is invalid: count it, tell `onError`, and close after any answer the codec queued.
    @usableFromInline
    final func reject(_ rejection: CodecRejection) {
        context.statistics.packetErr += 1
        knownLength = 0
        fireError(TransportError(.protocolError, "receive from \(remoteAddress?.description ?? "peer")", detail: rejection.description))
        pauseReceiving()
        close()
    }

    override func drainStarted() -> Bool {
        var codecContext = makeCodecContext()
        let codecCloses = codec.connectionDraining(&codecContext)
        if codecContext.hasEffects { apply(&codecContext) }
        return codecCloses && status == .established
    }

    // MARK: - Callbacks

    override func fireClose() {
        guard let onClose else { return }
        invokeUserCallback(.onClose) { try onClose(self) }
    }

    override func fireError(_ error: TransportError) {
        guard let onError else { return }
        invokeUserCallback(.onError) { try onError(self, error) }
    }

    override func fireBufferFull() {
        guard let onBufferFull else { return }
        invokeUserCallback(.onBufferFull) { try onBufferFull(self) }
    }

    override func fireBufferDrain() {
        guard let onBufferDrain else { return }
        invokeUserCallback(.onBufferDrain) { try onBufferDrain(self) }
    }

    override func clearCallbacks() {
        onCodecEvent = nil
        onMessage = nil
        onClose = nil
        onError = nil
        onBufferFull = nil
        onBufferDrain = nil
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
