import WorkermanTransport

/// Runs codec `C` unchanged and notes, for `CodecVerifier`, what the connection cannot tell it: why the
/// stream ended (the first reason only), how many received bytes the codec used, and how often it asked
/// to pause. The connection itself acts on the same answers; this only watches them go by.
struct RecordingCodec<C: Codec>: Codec {
    typealias Message = C.Message
    typealias Outbound = C.Outbound
    typealias Event = C.Event

    struct Record {
        var closeReason: CodecCloseReason?
        /// Bytes the codec consumed or decoded.
        var usedBytes = 0
        var pauseRequests = 0
    }

    var inner: C
    var record = Record()

    init() { inner = C() }

    init(_ inner: C) { self.inner = inner }

    mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        let decision = inner.input(bytes, &context)
        note(context)
        switch decision {
        case .needMore:
            if bytes.count > context.maxPackageSize + Connection.framingAllowance { noteClose(.overLimit("\(bytes.count) bytes buffered on needMore")) }
        case .consumed(let length):
            if length <= 0 || length > bytes.count {
                noteClose(.contractViolation("consumed \(length) of \(bytes.count) bytes"))
            } else {
                record.usedBytes += length
            }
        case .message(let length):
            if length <= 0 {
                noteClose(.contractViolation("message of length \(length)"))
            } else if length > context.maxPackageSize {
                noteClose(.overLimit("message of \(length) bytes over maxPackageSize \(context.maxPackageSize)"))
            }
        case .reject(let rejection):
            noteClose(.rejected(rejection))
        }
        return decision
    }

    mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection) -> Message? {
        record.usedBytes += packet.count
        do {
            let message = try inner.decode(packet, &context)
            note(context)
            return message
        } catch {
            noteClose(.decodeFailed(error))
            throw error
        }
    }

    mutating func encode(_ message: Outbound, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        inner.encode(message, into: &buffer, &context)
        note(context)
    }

    mutating func connectionEstablished(_ context: inout CodecContext) { inner.connectionEstablished(&context) }
    mutating func connectionAccepted(remoteAddress: SocketAddress?) { inner.connectionAccepted(remoteAddress: remoteAddress) }
    mutating func takeEvent() -> Event? { inner.takeEvent() }
    mutating func connectionDraining(_ context: inout CodecContext) -> Bool { inner.connectionDraining(&context) }

    private mutating func note(_ context: CodecContext) {
        if context.pauseRequested { record.pauseRequests += 1 }
        if context.closeRequested { noteClose(.closeRequested) }
    }

    private mutating func noteClose(_ reason: CodecCloseReason) {
        if record.closeReason == nil { record.closeReason = reason }
    }
}
