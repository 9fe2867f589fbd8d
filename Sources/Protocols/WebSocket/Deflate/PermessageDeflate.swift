import WorkermanTransport

/// One connection's permessage-deflate state (RFC 7692 §6, §7.2): the compressor for what this side
/// sends and the decompressor for what it receives, with the agreed context takeover. A class: the
/// zlib streams are resources shared by the codec's frame reader (inflating) and its encoder.
final class PermessageDeflate {
    /// Nil when this side's window was agreed as 8, which zlib's raw deflate cannot produce: this side
    /// then sends every message uncompressed, which RFC 7692 always allows (RSV1 clear).
    private let compressor: ZlibStream?
    private let decompressor: ZlibStream
    private let resetsAfterSending: Bool
    private let resetsAfterReceiving: Bool
    /// Reused between messages: compressed output, or a received frame's unmasked payload.
    private var scratch = ByteBuffer()
    /// Compressed payload bytes received so far in the current message.
    private var receivedInMessage = 0

    /// The agreement's state for the server (`isServer`) or the client side; nil when zlib refuses.
    init?(_ agreement: PermessageDeflateAgreement, isServer: Bool, options: PermessageDeflateOptions) {
        let sendBits = isServer ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits
        // The decompressor always takes the largest window: the peer's agreed window is only an upper bound,
        // and inflate reads any smaller one.
        guard let decompressor = ZlibStream(inflateWindowBits: 15) else { return nil }
        if sendBits >= 9 {
            guard
                let compressor = ZlibStream(
                    deflateLevel: min(max(options.compressionLevel, 1), 9),
                    windowBits: sendBits,
                    memoryLevel: min(max(options.memoryLevel, 1), 9))
            else { return nil }
            self.compressor = compressor
        } else {
            compressor = nil
        }
        self.decompressor = decompressor
        resetsAfterSending = isServer ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover
        resetsAfterReceiving = isServer ? agreement.clientNoContextTakeover : agreement.serverNoContextTakeover
    }

    // MARK: - Sending

    /// Compresses one message's payload (§7.2.1: deflate, sync flush, strip the final `00 00 ff ff`) and
    /// hands the result to `body`; false (and `body` not called) when this side sends uncompressed.
    func compress(_ payload: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard let compressor else { return false }
        guard payload.count > 0 else {
            // §7.2.3.6: an empty message is the single byte 0x00 (with the receiver's tail, an empty
            // stored block). zlib would write nothing at all for a flush with no new input, and an
            // empty payload plus the tail is not valid deflate data.
            withUnsafeBytes(of: UInt8(0)) { body($0) }
            return true
        }
        scratch.clear()
        compressor.deflate(payload, into: &scratch)
        if resetsAfterSending { compressor.reset() }
        scratch.withReadableBytes { compressed in
            // A sync flush always ends with the empty stored block's 4 bytes.
            body(UnsafeRawBufferPointer(rebasing: compressed[0..<max(0, compressed.count - 4)]))
        }
        // A huge message must not pin its buffer for the life of the connection.
        if scratch.capacity > 64 * 1024 { scratch.release() }
        return true
    }

    // MARK: - Receiving

    /// Decompresses one frame of a compressed message: its payload (`masked` with `maskKey` as on the
    /// wire) is appended to `output` (§7.2.2: the final frame gets `00 00 ff ff` appended first), which
    /// may not grow past `limit` bytes. `check` sees the output piece by piece (UTF-8 of text).
    func decompress(
        frame bytes: UnsafeRawBufferPointer,
        _ header: WebSocketFrameHeader,
        into output: inout ByteBuffer,
        limit: Int,
        check: (UnsafeRawBufferPointer) -> Bool
    ) -> ZlibStream.InflateResult {
        scratch.clear()
        if header.payloadLength > 0 {
            let target = scratch.reserveWritable(header.payloadLength)
            target.copyMemory(from: bytes.baseAddress! + header.headerLength, byteCount: header.payloadLength)
            if header.masked {
                WebSocketMask.apply(key: header.maskKey, to: UnsafeMutableRawBufferPointer(start: target, count: header.payloadLength))
            }
            scratch.commitWritten(header.payloadLength)
        }
        receivedInMessage += header.payloadLength
        // A message whose compressed payload is empty (some senders write nothing for an empty
        // message, where §7.2.3.6 suggests 0x00) is empty: inflating the tail alone would leave the
        // decompressor inside a stored block's header and corrupt the next message.
        let empty = header.fin && receivedInMessage == 0
        if header.fin {
            scratch.append(contentsOf: [0x00, 0x00, 0xFF, 0xFF])
            receivedInMessage = 0
        }
        let result = empty ? .ok : scratch.withReadableBytes { input in
            decompressor.inflate(input, into: &output, limit: limit, check: check)
        }
        if header.fin && resetsAfterReceiving { decompressor.reset() }
        if scratch.capacity > 64 * 1024 { scratch.release() }
        return result
    }
}
