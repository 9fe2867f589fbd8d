import WorkermanTransport

/// Appends the Prometheus text exposition format (version 0.0.4) to a byte buffer without building
/// strings: names are static, numbers are written digit by digit. A scrape of many processes then costs
/// no allocation per process (decision 15: metrics are read from the status board by the master).
struct MetricsText {
    var buffer: ByteBuffer

    init(capacity: Int) { buffer = ByteBuffer(capacity: capacity) }

    mutating func append(_ text: StaticString) {
        buffer.append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `# HELP name help` and `# TYPE name type`.
    mutating func family(_ name: StaticString, _ type: StaticString, _ help: StaticString) {
        append("# HELP ")
        append(name)
        append(" ")
        append(help)
        append("\n# TYPE ")
        append(name)
        append(" ")
        append(type)
        append("\n")
    }

    mutating func append(_ value: UInt64) {
        // Twenty digits hold any UInt64; written backwards into a stack tuple, then copied.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { space in
            var position = space.count
            var rest = value
            repeat {
                position -= 1
                space[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            buffer.append(UnsafeRawBufferPointer(rebasing: space[position...]))
        }
    }

    mutating func append(_ value: Int) {
        if value < 0 { append("-") }
        append(UInt64(value.magnitude))
    }

    /// Nanoseconds as decimal seconds (`1.250000000`), exact, with no floating point formatting.
    mutating func appendSeconds(nanoseconds: UInt64) {
        append(nanoseconds / 1_000_000_000)
        append(".")
        let fraction = nanoseconds % 1_000_000_000
        var scale: UInt64 = 100_000_000
        while scale > 1 && fraction < scale {
            append("0")
            scale /= 10
        }
        append(fraction)
    }

    /// Appends an already escaped label fragment (`worker="web"`).
    mutating func append(bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer.append($0) }
    }

    /// `value` as a label value: backslash, double quote and newline escaped, as the format requires.
    static func escapedLabelValue(_ value: String) -> String {
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
