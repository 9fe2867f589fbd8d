// The request line's grammar beyond what the state machine checks byte by byte: the version's
// fixed spelling and the request-target's form.

extension HTTPRequestParser {
    /// One byte of `HTTP/1.1`: exactly `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3).
    mutating func versionByte(_ byte: UInt8, index: Int) -> HTTPParseError? {
        switch index {
        case 0: return byte == 0x48 ? nil : .badRequest("invalid HTTP version")
        case 1, 2: return byte == 0x54 ? nil : .badRequest("invalid HTTP version")
        case 3: return byte == 0x50 ? nil : .badRequest("invalid HTTP version")
        case 4: return byte == ASCII.slash ? nil : .badRequest("invalid HTTP version")
        case 5:
            guard ASCII.isDigit(byte) else { return .badRequest("invalid HTTP version") }
            return byte == 0x31 ? nil : .versionNotSupported
        case 6: return byte == 0x2E ? nil : .badRequest("invalid HTTP version")
        default:
            guard ASCII.isDigit(byte) else { return .badRequest("invalid HTTP version") }
            // A higher 1.x minor is processed as 1.1 (RFC 9110 §2.5).
            version = HTTPVersion(major: 1, minor: byte &- 0x30)
            return nil
        }
    }
    /// The request-target forms a server accepts (RFC 9112 §3.2): origin-form, absolute-form, and `*`
    /// for OPTIONS. authority-form belongs to CONNECT, which a server that is not a proxy does not serve.
    func validateTarget(_ base: UnsafeRawBufferPointer) -> HTTPParseError? {
        let first = base[targetStart]
        if first == ASCII.slash { return nil }
        if first == ASCII.asterisk {
            return targetEnd - targetStart == 1 && method == .options ? nil : .badRequest("invalid request-target")
        }
        // absolute-form: scheme "://" …, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        var index = targetStart
        guard ASCII.lowercased(first) &- 0x61 < 26 else { return .badRequest("invalid request-target") }
        while index < targetEnd {
            let byte = base[index]
            if byte == ASCII.colon { break }
            let isSchemeChar =
                ASCII.lowercased(byte) &- 0x61 < 26 || ASCII.isDigit(byte)
                || byte == ASCII.plus || byte == ASCII.hyphen || byte == 0x2E
            guard isSchemeChar else { return .badRequest("invalid request-target") }
            index += 1
        }
        guard index + 3 <= targetEnd, base[index + 1] == ASCII.slash, base[index + 2] == ASCII.slash else {
            return .badRequest("invalid request-target")
        }
        return nil
    }
}
