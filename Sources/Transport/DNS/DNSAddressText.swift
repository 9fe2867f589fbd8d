/// The text of an A or AAAA record's address, written straight from its bytes: `inet_ntop` formats
/// IPv6 through `sprintf`, which cost more than the rest of an answer's parse. The output is what
/// glibc's `inet_ntop` writes (RFC 5952: lower-case hex without leading zeros, the longest run of two
/// or more zero groups as `::`, the first on a tie; `::a.b.c.d` and `::ffff:a.b.c.d` dotted).
///
/// ```swift
/// DNSAddressText.ipv6(([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])[...])  // "2001:db8::1"
/// ```
package enum DNSAddressText {
    /// Dotted-quad text, written digit by digit (no string per octet).
    package static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(15)
        appendDotted(a, b, c, d, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// `raw` must hold 16 bytes.
    package static func ipv6(_ raw: ArraySlice<UInt8>) -> String {
        precondition(raw.count == 16, "an IPv6 address is 16 bytes")
        let base = raw.startIndex
        func word(_ index: Int) -> UInt16 { UInt16(raw[base + 2 * index]) << 8 | UInt16(raw[base + 2 * index + 1]) }
        // The longest run of zero words (at least two), the first one on a tie.
        var bestStart = -1
        var bestLength = 0
        var runStart = -1
        for index in 0..<8 {
            guard word(index) == 0 else {
                runStart = -1
                continue
            }
            if runStart < 0 { runStart = index }
            if index - runStart + 1 > bestLength {
                bestStart = runStart
                bestLength = index - runStart + 1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var text: [UInt8] = []
        text.reserveCapacity(39)
        var index = 0
        var afterRun = false
        while index < 8 {
            if index == bestStart {
                text.append(UInt8(ascii: ":"))
                text.append(UInt8(ascii: ":"))
                index += bestLength
                afterRun = true
                continue
            }
            if index > 0 && !afterRun { text.append(UInt8(ascii: ":")) }
            afterRun = false
            // An IPv4-compatible (::a.b.c.d) or mapped (::ffff:a.b.c.d) address ends in dotted form.
            if index == 6, bestStart == 0, bestLength == 6 || (bestLength == 5 && word(5) == 0xffff) {
                appendDotted(raw[base + 12], raw[base + 13], raw[base + 14], raw[base + 15], to: &text)
                break
            }
            appendHex(word(index), to: &text)
            index += 1
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func appendDotted(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, to text: inout [UInt8]) {
        func append(_ octet: UInt8) {
            if octet >= 100 { text.append(UInt8(ascii: "0") + octet / 100) }
            if octet >= 10 { text.append(UInt8(ascii: "0") + octet / 10 % 10) }
            text.append(UInt8(ascii: "0") + octet % 10)
        }
        append(a)
        text.append(UInt8(ascii: "."))
        append(b)
        text.append(UInt8(ascii: "."))
        append(c)
        text.append(UInt8(ascii: "."))
        append(d)
    }

    private static func appendHex(_ word: UInt16, to text: inout [UInt8]) {
        var started = false
        for shift in stride(from: 12, through: 0, by: -4) {
            let nibble = UInt8(truncatingIfNeeded: word >> UInt16(shift)) & 0xf
            if nibble != 0 || started || shift == 0 {
                text.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
                started = true
            }
        }
    }
}
