/// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), fed
/// bytes as they arrive, so a WebSocket text message split across frames and reads is refused at the
/// first bad byte (fail fast, RFC 6455 §8.1), not when it is complete.
struct UTF8Validator {
    /// Continuation bytes still expected for the current sequence.
    private var needed = 0
    /// The allowed range of the next continuation byte (narrowed after some lead bytes).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// Whether the bytes so far end on a character boundary.
    var isComplete: Bool { needed == 0 }

    mutating func reset() {
        needed = 0
        lower = 0x80
        upper = 0xBF
    }

    /// Feeds bytes; false at the first byte that cannot be part of valid UTF-8.
    @inline(__always)
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            // Fast path: a run of ASCII while no sequence is open, eight bytes at a time.
            if needed == 0 {
                while index + 8 <= count && bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                if index >= count { break }
            }
            guard feed(byte: bytes[index]) else { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    mutating func feed(byte: UInt8) -> Bool {
        if needed == 0 {
            switch byte {
            case 0x00...0x7F: return true
            case 0xC2...0xDF: needed = 1
            case 0xE0: (needed, lower, upper) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: needed = 2
            case 0xED: (needed, lower, upper) = (2, 0x80, 0x9F)
            case 0xF0: (needed, lower, upper) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: needed = 3
            case 0xF4: (needed, lower, upper) = (3, 0x80, 0x8F)
            default: return false
            }
            return true
        }
        guard byte >= lower && byte <= upper else { return false }
        needed -= 1
        lower = 0x80
        upper = 0xBF
        return true
    }
}
