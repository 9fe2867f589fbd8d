// Two tiny codecs for the tests: newline-terminated lines, and a 2-byte length prefix.

import WorkermanTransport

/// Newline-terminated lines. `input` rejects a line holding a NUL byte (or longer than `maxLine` without a
/// newline); `decode` throws for the line `!reject`. `onInput` sees the size of every buffer `input` is
/// given, so a test can act between two reads of one message.
struct LineCodec: Codec {
    typealias Message = String

    var maxLine = 4096
    var onInput: ((Int) -> Void)?

    init() {}

    mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        onInput?(bytes.count)
        guard let newline = bytes.firstIndex(of: 10) else {
            if bytes.contains(0) { return .reject(CodecRejection("NUL in line")) }
            return bytes.count > maxLine ? .reject(CodecRejection("line too long", code: 413)) : .needMore
        }
        if bytes[..<newline].contains(0) { return .reject(CodecRejection("NUL in line")) }
        return .message(length: newline + 1)
    }

    mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection) -> String? {
        let line = String(decoding: packet.dropLast(), as: UTF8.self)
        if line == "!reject" { throw CodecRejection("rejected line") }
        if line == "!drop" { return nil }
        return line
    }

    mutating func encode(_ message: String, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        buffer.append(message)
        buffer.append(10)
    }
}

/// A 2-byte big-endian length, then that many bytes: the length is known before the body arrives, so the
/// connection waits for a known length (Workerman's `$currentPackageLength`).
struct LengthCodec: Codec {
    typealias Message = ByteBuffer

    var onInput: ((Int) -> Void)?

    init() {}

    mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        onInput?(bytes.count)
        guard bytes.count >= 2 else { return .needMore }
        return .message(length: 2 + Int(bytes[0]) << 8 + Int(bytes[1]))
    }

    mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection) -> ByteBuffer? {
        ByteBuffer(UnsafeRawBufferPointer(rebasing: packet[2...]))
    }

    mutating func encode(_ message: ByteBuffer, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        buffer.append(UInt8(message.readableBytes >> 8))
        buffer.append(UInt8(message.readableBytes & 0xFF))
        buffer.append(message)
    }
}

/// An error a test callback throws on purpose.
struct DeliberateFailure: Error, Equatable {}
