import WorkermanTransport

// Appends used by the encoders: static text, decimal and hexadecimal numbers, straight into the buffer
// (no intermediate `String` per header on the hot path).

extension ByteBuffer {
    @inline(__always)
    mutating func append(static text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends `value` (≥ 0) in decimal.
    @inline(__always)
    mutating func appendDecimal(_ value: Int) {
        precondition(value >= 0, "negative length \(value)")
        let digits = Self.decimalDigits(value)
        Self.storeDecimal(value, digits: digits, at: reserveWritable(digits))
        commitWritten(digits)
    }

    /// How many decimal digits `value` (≥ 0) has.
    @inline(__always)
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    /// Writes `value` (≥ 0) as its `digits` decimal digits at `target`.
    @inline(__always)
    static func storeDecimal(_ value: Int, digits: Int, at target: UnsafeMutableRawPointer) {
        var remaining = value
        var index = digits - 1
        while index >= 0 {
            target.storeBytes(of: UInt8(truncatingIfNeeded: remaining % 10) &+ 0x30, toByteOffset: index, as: UInt8.self)
            remaining /= 10
            index -= 1
        }
    }

    /// Appends `value` (≥ 0) in lower-case hexadecimal, as chunk sizes are written.
    mutating func appendHex(_ value: Int) {
        precondition(value >= 0, "negative length \(value)")
        var digits = 1
        var rest = value >> 4
        while rest > 0 {
            digits += 1
            rest >>= 4
        }
        let target = reserveWritable(digits)
        var remaining = value
        var index = digits - 1
        while index >= 0 {
            let nibble = UInt8(truncatingIfNeeded: remaining & 0xF)
            target.storeBytes(of: nibble < 10 ? nibble &+ 0x30 : nibble &+ 0x57, toByteOffset: index, as: UInt8.self)
            remaining >>= 4
            index -= 1
        }
        commitWritten(digits)
    }
}
