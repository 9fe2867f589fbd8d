import WorkermanTransport

extension PHPValue {
    /// The bytes PHP's `serialize()` writes for this value, byte for byte (GlobalData's `cas` compares
    /// MD5s of these, so they must match PHP exactly, floats included).
    public func serialized() -> [UInt8] {
        var buffer = ByteBuffer()
        serialize(into: &buffer)
        return buffer.bytes
    }

    /// Appends PHP's `serialize()` form of this value to `buffer`.
    public func serialize(into buffer: inout ByteBuffer) {
        PHPSerializer.write(self, into: &buffer)
    }
}

/// PHP's `serialize()` for the `PHPValue` subset.
enum PHPSerializer {
    static func write(_ value: PHPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null:
            buffer.append(contentsOf: [UInt8(ascii: "N"), UInt8(ascii: ";")])
        case .bool(let flag):
            buffer.append(flag ? "b:1;" : "b:0;")
        case .int(let number):
            buffer.append("i:")
            buffer.append(String(number))
            buffer.append(UInt8(ascii: ";"))
        case .double(let number):
            buffer.append("d:")
            buffer.append(contentsOf: formatDouble(number))
            buffer.append(UInt8(ascii: ";"))
        case .string(let bytes):
            writeString(bytes, into: &buffer)
        case .array(let array):
            buffer.append("a:")
            buffer.append(String(array.count))
            buffer.append(":{")
            for entry in array {
                switch entry.key {
                case .int(let index):
                    buffer.append("i:")
                    buffer.append(String(index))
                    buffer.append(UInt8(ascii: ";"))
                case .string(let bytes):
                    writeString(bytes, into: &buffer)
                }
                write(entry.value, into: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        buffer.append("s:")
        buffer.append(String(bytes.count))
        buffer.append(":\"")
        buffer.append(contentsOf: bytes)
        buffer.append("\";")
    }

    /// A float as PHP 7.1+ serializes it (`serialize_precision = -1`): the shortest digits that read back
    /// to the same double, in fixed notation when the decimal point falls within 17 digits
    /// (`0.1`, `100`, `10000000000000000`), else as `1.0E+25`, `1.5E-5`; `INF`, `-INF`, `NAN`, `-0`.
    ///
    /// Why through `description`: Swift's shortest round-trip digits are the same digits PHP's
    /// `zend_gcvt` (mode 0) picks; only the layout differs, and that is rebuilt here.
    static func formatDouble(_ value: Double) -> [UInt8] {
        if value.isNaN { return Array("NAN".utf8) }
        if value.isInfinite { return Array((value < 0 ? "-INF" : "INF").utf8) }
        if value == 0 { return Array((value.sign == .minus ? "-0" : "0").utf8) }
        let (digits, pointPosition) = shortestDigits(of: Swift.abs(value))
        var out: [UInt8] = value < 0 ? [UInt8(ascii: "-")] : []
        let zero = UInt8(ascii: "0")
        if pointPosition < -3 || pointPosition > 17 {
            out.append(digits[0])
            out.append(UInt8(ascii: "."))
            if digits.count > 1 { out.append(contentsOf: digits[1...]) } else { out.append(zero) }
            out.append(UInt8(ascii: "E"))
            let exponent = pointPosition - 1
            out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out.append(contentsOf: String(Swift.abs(exponent)).utf8)
        } else if pointPosition <= 0 {
            out.append(contentsOf: [zero, UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(zero, count: -pointPosition))
            out.append(contentsOf: digits)
        } else if pointPosition >= digits.count {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(zero, count: pointPosition - digits.count))
        } else {
            out.append(contentsOf: digits[..<pointPosition])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[pointPosition...])
        }
        return out
    }

    /// The significant digits of a positive finite `value` (no leading or trailing zeros) and where the
    /// decimal point goes: value = 0.d₁d₂… × 10^pointPosition.
    static func shortestDigits(of value: Double) -> (digits: [UInt8], pointPosition: Int) {
        let text = Array(value.description.utf8)  // "0.1", "100.0", "1e-05", "1.2345678901234568e+17"
        var digits: [UInt8] = []
        var integerDigits: Int?
        var exponent = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                integerDigits = digits.count
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(index + 1)...], as: UTF8.self)) ?? 0
                break
            } else {
                digits.append(byte)
            }
            index += 1
        }
        var pointPosition = (integerDigits ?? digits.count) + exponent
        let leadingZeros = digits.prefix { $0 == UInt8(ascii: "0") }.count
        digits.removeFirst(leadingZeros)
        pointPosition -= leadingZeros
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return ([UInt8(ascii: "0")], 1) }
        return (digits, pointPosition)
    }
}
