// Byte classes and small byte-level helpers shared by the parsers (RFC 9110 §5.6 grammar).
//
// Why bit masks instead of a 256-entry table: a `static let` table costs a lazy-initialisation check on
// every access inside the hot parsing loops; two 64-bit constants fold into the instruction stream.

enum ASCII {
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let percent: UInt8 = 0x25
    static let ampersand: UInt8 = 0x26
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let hyphen: UInt8 = 0x2D
    static let slash: UInt8 = 0x2F
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let questionMark: UInt8 = 0x3F
    static let backslash: UInt8 = 0x5C
    static let hash: UInt8 = 0x23
    static let asterisk: UInt8 = 0x2A
    static let leftBracket: UInt8 = 0x5B
    static let rightBracket: UInt8 = 0x5D

    /// `tchar` (RFC 9110 §5.6.2): ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``, as two masks over bytes 0–127.
    private static let tokenMaskLow: UInt64 = 0x03FF_6CFA_0000_0000
    private static let tokenMaskHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// `reg-name` characters of a `Host` (unreserved, sub-delims and `%`, RFC 3986 §3.2.2).
    private static let hostMaskLow: UInt64 = 0x2BFF_7FF2_0000_0000
    private static let hostMaskHigh: UInt64 = 0x47FF_FFFE_87FF_FFFE

    @inline(__always)
    static func isTokenChar(_ byte: UInt8) -> Bool {
        if byte < 64 { return (tokenMaskLow >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (tokenMaskHigh >> UInt64(byte &- 64)) & 1 == 1 }
        return false
    }

    @inline(__always)
    static func isHostChar(_ byte: UInt8) -> Bool {
        if byte < 64 { return (hostMaskLow >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (hostMaskHigh >> UInt64(byte &- 64)) & 1 == 1 }
        return false
    }

    /// `field-vchar` or whitespace: VCHAR, obs-text (0x80–0xFF), SP and HTAB. Every other control
    /// character (NUL, bare CR, bare LF, DEL) is invalid inside a field value.
    @inline(__always)
    static func isFieldValueChar(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == tab
    }

    /// A request-target byte: visible ASCII or obs-text; no whitespace, no control characters.
    @inline(__always)
    static func isTargetChar(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte != 0x7F
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte &- 0x30
        case 0x41...0x46: return byte &- 0x41 &+ 10
        case 0x61...0x66: return byte &- 0x61 &+ 10
        default: return nil
        }
    }

    // MARK: Eight bytes at a time

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any of the eight bytes in `word` is below `limit` (≤ 128). Exact as a yes/no answer
    /// ("Bit Twiddling Hacks", hasless); bytes ≥ 0x80 never count.
    @inline(__always)
    static func anyByte(in word: UInt64, below limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highBits != 0
    }

    /// Whether any of the eight bytes in `word` equals `byte`.
    @inline(__always)
    static func anyByte(in word: UInt64, equalTo byte: UInt8) -> Bool {
        let matches = word ^ (ones &* UInt64(byte))
        return (matches &- ones) & ~matches & highBits != 0
    }

    /// How many leading bytes of `bytes[start..<end]` are plain field-value or target bytes (≥ `lowest`,
    /// not DEL), skipped eight at a time; the caller checks the rest byte by byte.
    ///
    /// Why: header values and targets are most of a request's bytes, and checking one byte per loop
    /// turn was the parser's main cost.
    @inline(__always)
    static func skipPlainRun(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, lowest: UInt8) -> Int {
        guard let base = bytes.baseAddress else { return start }
        var index = start
        while index + 8 <= end {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if anyByte(in: word, below: lowest) || anyByte(in: word, equalTo: 0x7F) { break }
            index += 8
        }
        return index
    }

    /// Whether `bytes` equals `lowercase` (which must be lower-case ASCII) ignoring ASCII case.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let literal = lowercase.utf8Start
        for index in 0..<bytes.count where lowercased(bytes[index]) != literal[index] {
            return false
        }
        return true
    }

    /// Whether two byte runs are equal ignoring ASCII case.
    static func equalsIgnoringCase(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where lowercased(lhs[index]) != lowercased(rhs[index]) {
            return false
        }
        return true
    }

    /// Whether two strings are equal ignoring ASCII case (header names).
    static func equalsIgnoringCase(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in equalsIgnoringCase(UnsafeRawBufferPointer(left), UnsafeRawBufferPointer(right)) }
        }
    }

    /// `bytes` without leading and trailing SP/HTAB (optional whitespace around a field value).
    @inline(__always)
    static func trimmingWhitespace(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Calls `body` for each element of a comma-separated list (RFC 9110 §5.6.1), trimmed of whitespace;
    /// empty elements are skipped, as recipients must tolerate them. Stops when `body` returns false.
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var start = 0
        var index = 0
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == comma {
                let element = trimmingWhitespace(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                if !element.isEmpty, !body(element) { return }
                start = index + 1
            }
            index += 1
        }
    }
}

extension String {
    /// A string from bytes already known to be ASCII or acceptable as Latin-1-ish header text: valid
    /// UTF-8 is kept, anything else is repaired (header values may carry obs-text).
    @inline(__always)
    init(headerBytes bytes: UnsafeRawBufferPointer) {
        self = String(decoding: bytes, as: UTF8.self)
    }
}
