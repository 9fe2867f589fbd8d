import WorkermanTransport

/// RFC 6455 §5.2 frame opcodes.
enum WebSocketOpcode {
    static let continuation: UInt8 = 0x0
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    static func isControl(_ opcode: UInt8) -> Bool { opcode & 0x8 != 0 }
}

/// A parsed frame header.
struct WebSocketFrameHeader: Equatable {
    var fin: Bool
    var opcode: UInt8
    var masked: Bool
    var maskKey: UInt32
    var payloadLength: Int
    var headerLength: Int
    /// RSV1 (RFC 7692 §6): the first frame of a compressed message. Only parsed as such when the
    /// extension was negotiated; otherwise a set RSV1 is an error like the other reserved bits.
    var compressed = false

    var frameLength: Int { headerLength + payloadLength }

    enum Parse: Equatable {
        case needMore
        case header(WebSocketFrameHeader)
        case invalid(code: Int, reason: String)
    }

    /// Parses and checks a header (§5.2): no reserved bits (but RSV1 with `allowsCompressed`, when
    /// permessage-deflate was negotiated), no reserved opcodes, control frames final and ≤ 125 bytes, the minimal length encoding, no 64-bit length with
    /// the top bit set, masking as the side requires, and the length within `maxPayload`.
    static func parse(_ bytes: UnsafeRawBufferPointer, expectMasked: Bool, maxPayload: Int, allowsCompressed: Bool = false) -> Parse {
        guard bytes.count >= 2 else { return .needMore }
        let first = bytes[0]
        let second = bytes[1]
        let fin = first & 0x80 != 0
        let opcode = first & 0x0F
        let reserved = first & 0x70
        if reserved != 0 {
            // One branch on the common path: RSV1 is permessage-deflate's once negotiated, and only on a
            // data message's first frame (RFC 7692 §6.1).
            guard allowsCompressed && reserved == 0x40 else {
                return .invalid(code: WebSocketCloseCode.protocolError, reason: "reserved bits set")
            }
            guard opcode == WebSocketOpcode.text || opcode == WebSocketOpcode.binary else {
                return .invalid(code: WebSocketCloseCode.protocolError, reason: "RSV1 set on a control or continuation frame")
            }
        }
        switch opcode {
        case WebSocketOpcode.continuation, WebSocketOpcode.text, WebSocketOpcode.binary,
            WebSocketOpcode.close, WebSocketOpcode.ping, WebSocketOpcode.pong:
            break
        default:
            return .invalid(code: WebSocketCloseCode.protocolError, reason: "reserved opcode \(opcode)")
        }
        let masked = second & 0x80 != 0
        guard masked == expectMasked else {
            return .invalid(code: WebSocketCloseCode.protocolError, reason: expectMasked ? "frame not masked" : "masked frame from server")
        }
        var length = Int(second & 0x7F)
        var headerLength = 2
        if WebSocketOpcode.isControl(opcode) {
            guard fin else { return .invalid(code: WebSocketCloseCode.protocolError, reason: "fragmented control frame") }
            guard length <= 125 else { return .invalid(code: WebSocketCloseCode.protocolError, reason: "control frame over 125 bytes") }
        }
        if length == 126 {
            guard bytes.count >= 4 else { return .needMore }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            headerLength = 4
            guard length >= 126 else { return .invalid(code: WebSocketCloseCode.protocolError, reason: "non-minimal length") }
        } else if length == 127 {
            guard bytes.count >= 10 else { return .needMore }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(bytes[index]) }
            guard value >> 63 == 0 else { return .invalid(code: WebSocketCloseCode.protocolError, reason: "length with the top bit set") }
            guard value > 0xFFFF else { return .invalid(code: WebSocketCloseCode.protocolError, reason: "non-minimal length") }
            guard value <= UInt64(maxPayload) else {
                return .invalid(code: WebSocketCloseCode.messageTooBig, reason: "frame of \(value) bytes over the limit of \(maxPayload)")
            }
            length = Int(value)
            headerLength = 10
        }
        guard length <= maxPayload else {
            return .invalid(code: WebSocketCloseCode.messageTooBig, reason: "frame of \(length) bytes over the limit of \(maxPayload)")
        }
        var maskKey: UInt32 = 0
        if masked {
            guard bytes.count >= headerLength + 4 else { return .needMore }
            maskKey = bytes.loadUnaligned(fromByteOffset: headerLength, as: UInt32.self)
            headerLength += 4
        }
        return .header(
            WebSocketFrameHeader(
                fin: fin, opcode: opcode, masked: masked, maskKey: maskKey, payloadLength: length, headerLength: headerLength,
                compressed: first & 0x40 != 0))
    }

    /// Appends a frame header (§5.2) for `payloadLength` bytes; with `maskKey`, the mask bit and key.
    /// Written in one reservation: byte-by-byte appends were a tenth of an echoed message's cost.
    /// `compressed` sets RSV1 (a permessage-deflate message's first frame).
    static func write(
        fin: Bool = true,
        opcode: UInt8,
        compressed: Bool = false,
        payloadLength: Int,
        maskKey: UInt32?,
        into buffer: inout ByteBuffer
    ) {
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        let lengthBytes = payloadLength < 126 ? 0 : payloadLength <= 0xFFFF ? 2 : 8
        let count = 2 + lengthBytes + (maskKey == nil ? 0 : 4)
        let out = buffer.reserveWritable(count)
        out.storeBytes(of: (fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode, as: UInt8.self)
        switch lengthBytes {
        case 0:
            out.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
        case 2:
            out.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
        default:
            out.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            out.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
        }
        if let maskKey {
            out.storeBytes(of: maskKey, toByteOffset: 2 + lengthBytes, as: UInt32.self)
        }
        buffer.commitWritten(count)
    }
}

/// XOR masking (§5.3), eight bytes at a time. `offset` is the payload position of `bytes[0]`, so a
/// payload can be (un)masked in pieces.
enum WebSocketMask {
    static func apply(key: UInt32, to bytes: UnsafeMutableRawBufferPointer, offset: Int = 0) {
        guard key != 0, let base = bytes.baseAddress else { return }
        // Rotate the key so byte 0 of this piece lines up with payload position `offset`.
        let shift = UInt32((offset & 3) * 8)
        let rotated = shift == 0 ? key : (key >> shift | key << (32 - shift))
        let wide = UInt64(rotated) | UInt64(rotated) << 32
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let value = (base + index).loadUnaligned(as: UInt64.self)
            (base + index).storeBytes(of: value ^ wide, as: UInt64.self)
            index += 8
        }
        withUnsafeBytes(of: rotated) { keyBytes in
            while index < count {
                base.storeBytes(of: base.load(fromByteOffset: index, as: UInt8.self) ^ keyBytes[index & 3], toByteOffset: index, as: UInt8.self)
                index += 1
            }
        }
    }
}

/// A close frame's payload (§5.5.1): the code, big-endian, then the reason as UTF-8.
enum WebSocketClosePayload {
    static func make(code: Int, reason: String) -> ByteBuffer {
        var payload = ByteBuffer(capacity: 2 + min(reason.utf8.count, 123))
        payload.append(UInt8(truncatingIfNeeded: code >> 8))
        payload.append(UInt8(truncatingIfNeeded: code))
        // A control frame carries at most 125 bytes, so at most 123 of reason, cut before a character
        // rather than inside one (a torn character is invalid UTF-8, which the peer must fail with 1007).
        let bytes = Array(reason.utf8)
        var end = min(bytes.count, 123)
        while end < bytes.count && end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        payload.append(contentsOf: bytes[..<end])
        return payload
    }
}
