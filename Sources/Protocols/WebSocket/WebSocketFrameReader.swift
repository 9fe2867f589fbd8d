import WorkermanTransport

/// The frame-level state both WebSocket codecs share: it measures frames for the connection, joins
/// fragments into messages, answers control frames, checks UTF-8 as bytes arrive, and enforces the size
/// limit. RFC 6455 is the law: a violation fails the connection with the right close code.
struct WebSocketFrameReader {
    /// Server side reads masked frames; client side unmasked ones.
    let expectMasked: Bool

    /// The opcode of a fragmented message in progress (text or binary), or nil.
    private var fragmentOpcode: UInt8?
    /// Unmasked payload of the fragments received so far.
    private var fragments = ByteBuffer()
    /// Validates the open text message across fragments and reads.
    private var utf8 = UTF8Validator()
    /// Payload bytes of the (incomplete) current frame already fed to `utf8`.
    private var validatedInFrame = 0
    /// Bytes that must be validated from the start of the current frame's payload: the validator state at
    /// the start of the frame, restored when `input` sees the frame again from its first byte.
    private var validatorAtFrameStart = UTF8Validator()
    private var frameInProgress = false
    /// The header of the frame `input` last measured as a message, so `decode` need not parse it again.
    private var measured: WebSocketFrameHeader?
    /// permessage-deflate, once negotiated (RFC 7692): RSV1 is then allowed on a message's first frame.
    var compression: PermessageDeflate?
    /// The message being read is compressed: each of its frames is inflated into `fragments` when
    /// complete, and its text validated after inflating rather than as it arrives.
    private var messageCompressed = false

    init(expectMasked: Bool) {
        self.expectMasked = expectMasked
    }

    /// What `input` found at the front of the bytes.
    enum Step: Equatable {
        case needMore
        /// A data frame that completes a message: `decode` it (its whole frame is `length` bytes).
        case message(length: Int)
        /// A frame used here (fragment stored, control frame answered): drop `length` bytes.
        case consumed(length: Int, control: Control?)
        /// The stream violates the protocol: close with `code`.
        case fail(code: Int, reason: String)
    }

    enum Control: Equatable {
        case ping(ByteBuffer)
        case pong(ByteBuffer)
        case close(code: Int, reason: String)
    }

    mutating func input(_ bytes: UnsafeRawBufferPointer, maxMessage: Int) -> Step {
        let header: WebSocketFrameHeader
        switch WebSocketFrameHeader.parse(bytes, expectMasked: expectMasked, maxPayload: maxMessage, allowsCompressed: compression != nil) {
        case .needMore: return .needMore
        case .invalid(let code, let reason): return .fail(code: code, reason: reason)
        case .header(let parsed): header = parsed
        }
        let opcode = header.opcode
        if !WebSocketOpcode.isControl(opcode) {
            if opcode == WebSocketOpcode.continuation {
                guard fragmentOpcode != nil else { return .fail(code: WebSocketCloseCode.protocolError, reason: "continuation without a message") }
            } else if fragmentOpcode != nil {
                return .fail(code: WebSocketCloseCode.protocolError, reason: "new message inside a fragmented one")
            }
            // The whole frame, header included, counts (as in Workerman): the connection refuses a message
            // longer than maxPackageSize, and would close without the 1009.
            guard fragments.readableBytes + header.frameLength <= maxMessage else {
                return .fail(code: WebSocketCloseCode.messageTooBig, reason: "message over the limit of \(maxMessage) bytes")
            }
            if opcode != WebSocketOpcode.continuation { messageCompressed = header.compressed }
        }
        let available = min(bytes.count - header.headerLength, header.payloadLength)
        if isText(opcode) && !messageCompressed {
            // Fail fast: check what has arrived of this frame, even before it is complete.
            if !frameInProgress {
                frameInProgress = true
                validatedInFrame = 0
                validatorAtFrameStart = utf8
            }
            if available > validatedInFrame {
                guard validate(bytes, header: header, upTo: available) else {
                    return .fail(code: WebSocketCloseCode.invalidPayload, reason: "invalid UTF-8 in a text message")
                }
            }
        }
        guard bytes.count >= header.frameLength else { return .needMore }
        frameInProgress = false
        validatedInFrame = 0

        if WebSocketOpcode.isControl(opcode) {
            return control(header, payload: payload(bytes, header))
        }
        if messageCompressed { return inflate(bytes, header, maxMessage: maxMessage) }
        if header.fin {
            if isText(opcode) && !utf8.isComplete {
                return .fail(code: WebSocketCloseCode.invalidPayload, reason: "text message ends inside a character")
            }
            measured = header
            return .message(length: header.frameLength)
        }
        // A fragment: keep its unmasked payload, and wait for the rest of the message.
        if fragmentOpcode == nil { fragmentOpcode = opcode }
        Self.appendUnmasked(bytes, header, to: &fragments)
        return .consumed(length: header.frameLength, control: nil)
    }

    /// The message a final data frame completes (with any fragments before it).
    mutating func decode(_ frame: UnsafeRawBufferPointer) -> WebSocketMessage {
        if messageCompressed { return takeInflated() }
        let header: WebSocketFrameHeader
        if let measured, measured.frameLength == frame.count {
            header = measured
        } else {
            guard case .header(let parsed) = WebSocketFrameHeader.parse(frame, expectMasked: expectMasked, maxPayload: .max) else {
                preconditionFailure("decode called on a frame input did not accept")
            }
            header = parsed
        }
        measured = nil
        let opcode = fragmentOpcode ?? header.opcode
        fragmentOpcode = nil
        utf8.reset()
        if opcode == WebSocketOpcode.text && fragments.isEmpty {
            // One frame of text: unmasked straight into the string's storage (one allocation, not a
            // buffer and then a string). Validated as it arrived.
            return .text(
                String(unsafeUninitializedCapacity: header.payloadLength) { utf8 in
                    let target = UnsafeMutableRawBufferPointer(utf8)
                    Self.copyUnmasked(frame, header, to: target)
                    return header.payloadLength
                })
        }
        var payload = fragments
        fragments = ByteBuffer()
        Self.appendUnmasked(frame, header, to: &payload)
        if opcode == WebSocketOpcode.text {
            return .text(payload.string)  // validated as it arrived
        }
        return .binary(payload)
    }

    // MARK: - Compressed messages

    /// Inflates a complete frame of a compressed message into `fragments` (RFC 7692 §7.2.2), the whole
    /// message held to `maxMessage` bytes as it grows (a decompression bomb fails with 1009 at the
    /// limit) and text validated as it is inflated. Corrupt data fails the connection with 1007: the
    /// payload cannot be what its message type says (RFC 7692 only says "fail").
    private mutating func inflate(_ bytes: UnsafeRawBufferPointer, _ header: WebSocketFrameHeader, maxMessage: Int) -> Step {
        guard let compression else { preconditionFailure("RSV1 is only accepted once compression is negotiated") }
        if header.opcode != WebSocketOpcode.continuation && !fragments.isEmpty {
            // A message a closing codec consumed without `decode` left its output behind.
            fragments.clear()
            utf8.reset()
        }
        let opcode = fragmentOpcode ?? header.opcode
        let text = opcode == WebSocketOpcode.text
        // Moved out of `self` so the checking closure may use the validator without overlapping access.
        var output = fragments
        fragments = ByteBuffer()
        var validator = utf8
        let result = compression.decompress(frame: bytes, header, into: &output, limit: max(0, maxMessage - output.readableBytes)) {
            piece in !text || validator.feed(piece)
        }
        fragments = output
        utf8 = validator
        switch result {
        case .ok: break
        case .tooBig: return .fail(code: WebSocketCloseCode.messageTooBig, reason: "decompressed message over the limit of \(maxMessage) bytes")
        case .corrupt: return .fail(code: WebSocketCloseCode.invalidPayload, reason: "corrupt compressed data")
        case .refused: return .fail(code: WebSocketCloseCode.invalidPayload, reason: "invalid UTF-8 in a text message")
        }
        guard header.fin else {
            if fragmentOpcode == nil { fragmentOpcode = opcode }
            return .consumed(length: header.frameLength, control: nil)
        }
        if text && !utf8.isComplete {
            return .fail(code: WebSocketCloseCode.invalidPayload, reason: "text message ends inside a character")
        }
        measured = header
        return .message(length: header.frameLength)
    }

    /// The compressed message `inflate` completed.
    private mutating func takeInflated() -> WebSocketMessage {
        let opcode = fragmentOpcode ?? measured?.opcode ?? WebSocketOpcode.binary
        messageCompressed = false
        fragmentOpcode = nil
        measured = nil
        utf8.reset()
        let payload = fragments
        fragments = ByteBuffer()
        return opcode == WebSocketOpcode.text ? .text(payload.string) : .binary(payload)  // validated as inflated
    }

    // MARK: - Control frames

    private mutating func control(_ header: WebSocketFrameHeader, payload: ByteBuffer) -> Step {
        let length = header.frameLength
        switch header.opcode {
        case WebSocketOpcode.ping:
            return .consumed(length: length, control: .ping(payload))
        case WebSocketOpcode.pong:
            return .consumed(length: length, control: .pong(payload))
        default:
            // Close (§5.5.1): empty, or a valid 2-byte code and a UTF-8 reason.
            guard payload.readableBytes != 1 else {
                return .fail(code: WebSocketCloseCode.protocolError, reason: "close frame with a 1-byte payload")
            }
            guard payload.readableBytes >= 2 else {
                return .consumed(length: length, control: .close(code: WebSocketCloseCode.noStatus, reason: ""))
            }
            let code = Int(payload[0]) << 8 | Int(payload[1])
            guard WebSocketCloseCode.isValidOnTheWire(code) else {
                return .fail(code: WebSocketCloseCode.protocolError, reason: "invalid close code \(code)")
            }
            var reasonValidator = UTF8Validator()
            let validReason = payload.withReadableBytes { bytes in
                reasonValidator.feed(UnsafeRawBufferPointer(rebasing: bytes[2...])) && reasonValidator.isComplete
            }
            guard validReason else {
                return .fail(code: WebSocketCloseCode.invalidPayload, reason: "close reason is not UTF-8")
            }
            let reason = payload.withReadableBytes { String(decoding: $0[2...], as: UTF8.self) }
            return .consumed(length: length, control: .close(code: code, reason: reason))
        }
    }

    // MARK: - Payload

    private func isText(_ opcode: UInt8) -> Bool {
        opcode == WebSocketOpcode.text || (opcode == WebSocketOpcode.continuation && fragmentOpcode == WebSocketOpcode.text)
    }

    /// Feeds payload bytes `validatedInFrame ..< upTo` (unmasked) to the validator.
    private mutating func validate(_ bytes: UnsafeRawBufferPointer, header: WebSocketFrameHeader, upTo end: Int) -> Bool {
        if validatedInFrame == 0 { utf8 = validatorAtFrameStart }
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &scratch) { temporary -> Bool in
            var position = validatedInFrame
            while position < end {
                let count = min(temporary.count, end - position)
                let piece = UnsafeMutableRawBufferPointer(rebasing: temporary[0..<count])
                piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(header.headerLength + position)..<(header.headerLength + position + count)]))
                if header.masked { WebSocketMask.apply(key: header.maskKey, to: piece, offset: position) }
                guard utf8.feed(UnsafeRawBufferPointer(piece)) else { return false }
                position += count
            }
            validatedInFrame = end
            return true
        }
    }

    private func payload(_ bytes: UnsafeRawBufferPointer, _ header: WebSocketFrameHeader) -> ByteBuffer {
        var buffer = ByteBuffer()
        Self.appendUnmasked(bytes, header, to: &buffer)
        return buffer
    }

    /// Static: called as an instance method with `&fragments`, it would run on a copy of `self` that
    /// shares the fragments' storage, so every fragment would copy the whole message (quadratic).
    private static func appendUnmasked(_ bytes: UnsafeRawBufferPointer, _ header: WebSocketFrameHeader, to buffer: inout ByteBuffer) {
        guard header.payloadLength > 0 else { return }
        let target = buffer.reserveWritable(header.payloadLength)
        copyUnmasked(bytes, header, to: UnsafeMutableRawBufferPointer(start: target, count: header.payloadLength))
        buffer.commitWritten(header.payloadLength)
    }

    /// Copies the frame's payload to `target` (exactly its size) and removes the mask.
    private static func copyUnmasked(_ bytes: UnsafeRawBufferPointer, _ header: WebSocketFrameHeader, to target: UnsafeMutableRawBufferPointer) {
        guard header.payloadLength > 0, let destination = target.baseAddress else { return }
        destination.copyMemory(from: bytes.baseAddress! + header.headerLength, byteCount: header.payloadLength)
        if header.masked { WebSocketMask.apply(key: header.maskKey, to: target) }
    }
}
