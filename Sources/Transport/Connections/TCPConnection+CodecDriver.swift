import WorkermanEventLoop

// The codec driver: the receive loop that feeds received bytes to the codec and delivers what it
// decodes, and the carrying out of what a codec asks of its connection (`CodecContext`). It does no I/O
// of its own: replies go through the connection's send path, closes through its lifecycle.
extension TCPConnection {
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
            while lifecycle.state != .closed, let event = codec.takeEvent() {
                guard let onCodecEvent = handlers.storage?.onCodecEvent else { continue }
                invokeUserCallback(.onCodecEvent) { try onCodecEvent(self, event) }
            }
        }
        if codecContext.closeRequested { close() }
    }

    // MARK: - Receiving


    /// The receive loop, the only one (the embedded connection and the codec verifier run it too): runs
    /// the codec over `bytes` (the unprocessed received bytes) until it needs more, delivering each
    /// message to `onMessage` and carrying out what the codec asks (replies, pause, events, close);
    /// returns how many bytes were used. Stops early when paused or closing.
    ///
    /// Inlinable, and reached through `Codec.runDriver(over:on:)`, whose default is compiled where each
    /// codec's conformance is declared: there the loop is specialized for that codec. The generic loop
    /// pays for value-witness copies of each message and a metadata lookup per call, a tenth of a small
    /// HTTP request's instructions.
    @inlinable
    public final func driveCodec(over bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        // One context for the whole read, renewed before each codec call: making and dropping one per
        // call went through outlined value-witness calls from the codec's module.
        var codecContext = makeCodecContext()
        while offset < bytes.count && !isPaused && lifecycle.isOpen {
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
                guard remaining.count <= maxPackageSize &+ Connection.framingAllowance else {
                    // A codec that cannot frame what it holds would have the connection buffer without
                    // bound. A backstop only: codecs bound their own messages (HTTP 413/431, WebSocket 1009).
                    reject(
                        CodecRejection(
                            "\(remaining.count) bytes buffered without a complete message, over maxPackageSize \(maxPackageSize)",
                            code: 413
                        )
                    )
                    return bytes.count
                }
                return offset
            case .consumed(let length):
                if codecContext.hasEffects { apply(&codecContext) }
                guard length > 0 && length <= remaining.count else {
                    rejectMisbehavingCodec("consumed \(length) of the \(remaining.count) bytes it was given")
                    return bytes.count
                }
                offset += length
            case .message(let length):
                if codecContext.hasEffects { apply(&codecContext) }
                guard length > 0 else {
                    rejectMisbehavingCodec("announced a message of \(length) bytes")
                    return bytes.count
                }
                guard length <= maxPackageSize else {
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
        guard let onMessage = handlers.storage?.onMessage, let message = consume decoded else { return }
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

    /// A codec broke its contract (`InputDecision` lengths must lie within the bytes it was given): the
    /// stream cannot be framed any further. Rejected like bad input, with the codec named, rather than
    /// trapping: one connection's codec bug must not take the process's other connections down.
    @usableFromInline
    final func rejectMisbehavingCodec(_ what: String) {
        reject(CodecRejection("codec \(C.self) \(what)"))
    }

}
