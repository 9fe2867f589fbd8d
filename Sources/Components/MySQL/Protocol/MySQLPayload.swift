/// A cursor over one packet's payload, reading the protocol's integer and string encodings. Every read
/// is bounds-checked and throws `MySQLError` `.protocolViolation`: a length beyond the packet is a
/// malformed packet, never a crash.
struct MySQLPayloadReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    private func malformed(_ what: String) -> MySQLError {
        MySQLError(.protocolViolation, "malformed packet: \(what) beyond its end (offset \(offset) of \(bytes.count))")
    }

    mutating func skip(_ count: Int) throws(MySQLError) {
        guard count >= 0, count <= remaining else { throw malformed("skip of \(count) bytes") }
        offset += count
    }

    mutating func uint8() throws(MySQLError) -> UInt8 {
        guard remaining >= 1 else { throw malformed("a 1-byte integer") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A little-endian unsigned integer of `width` bytes (1 to 8).
    mutating func integer(_ width: Int) throws(MySQLError) -> UInt64 {
        guard remaining >= width else { throw malformed("a \(width)-byte integer") }
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += width
        return value
    }

    mutating func uint16() throws(MySQLError) -> UInt16 { UInt16(try integer(2)) }
    mutating func uint32() throws(MySQLError) -> UInt32 { UInt32(try integer(4)) }

    /// A length-encoded integer; nil for the NULL marker 0xFB (in text rows).
    mutating func lengthEncoded() throws(MySQLError) -> UInt64? {
        let first = try uint8()
        switch first {
        case 0..<0xFB: return UInt64(first)
        case 0xFB: return nil
        case 0xFC: return try integer(2)
        case 0xFD: return try integer(3)
        case 0xFE: return try integer(8)
        default: throw MySQLError(.protocolViolation, "malformed packet: 0xFF is not a length-encoded integer")
        }
    }

    /// A length-encoded integer that may not be NULL.
    mutating func length() throws(MySQLError) -> Int {
        guard let value = try lengthEncoded() else {
            throw MySQLError(.protocolViolation, "malformed packet: NULL where a length was expected")
        }
        return Int(clamping: value)
    }

    mutating func bytes(_ count: Int) throws(MySQLError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw malformed("a \(count)-byte string") }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// A length-encoded string; nil for NULL.
    mutating func lengthEncodedBytes() throws(MySQLError) -> ArraySlice<UInt8>? {
        guard let count = try lengthEncoded() else { return nil }
        guard count <= UInt64(remaining) else { throw malformed("a \(count)-byte string") }
        return try bytes(Int(count))
    }

    mutating func lengthEncodedString() throws(MySQLError) -> String {
        String(decoding: try lengthEncodedBytes() ?? [], as: UTF8.self)
    }

    /// A NUL-terminated string (or the rest of the payload when no NUL follows, as some servers send
    /// the last one).
    mutating func nulTerminatedString() -> String {
        let end = bytes[offset...].firstIndex(of: 0) ?? bytes.count
        defer { offset = min(end + 1, bytes.count) }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    mutating func rest() -> ArraySlice<UInt8> {
        defer { offset = bytes.count }
        return bytes[offset...]
    }
}

/// Writing the protocol's encodings into a payload.
extension Array where Element == UInt8 {
    mutating func appendInteger(_ value: UInt64, width: Int) {
        for index in 0..<width { append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    mutating func appendLengthEncoded(_ value: UInt64) {
        switch value {
        case 0..<0xFB: append(UInt8(value))
        case 0xFB...0xFFFF:
            append(0xFC)
            appendInteger(value, width: 2)
        case 0x1_0000...0xFF_FFFF:
            append(0xFD)
            appendInteger(value, width: 3)
        default:
            append(0xFE)
            appendInteger(value, width: 8)
        }
    }

    mutating func appendLengthEncoded(bytes: some Collection<UInt8>) {
        appendLengthEncoded(UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    mutating func appendNulTerminated(_ text: String) {
        append(contentsOf: text.utf8)
        append(0)
    }
}
