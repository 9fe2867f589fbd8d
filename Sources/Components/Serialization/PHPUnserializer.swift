import WorkermanTransport

/// Why bytes are not a serialized `PHPValue`: what was wrong and at which byte offset.
public struct PHPSerializationError: Error, Hashable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "malformed serialized PHP value at byte \(offset): \(reason)" }
}

extension PHPValue {
    /// Parses PHP `serialize()` output, strictly: every length and count is checked against the bytes
    /// there are, nesting is bounded, objects and references are refused. Garbage throws; it never traps.
    /// One trailing `\n` is allowed, because Channel servers append one to every event.
    ///
    /// - Throws: `PHPSerializationError` naming the offset and the problem.
    public init(unserializing bytes: UnsafeRawBufferPointer, maxDepth: Int = PHPUnserializer.defaultMaxDepth)
        throws(PHPSerializationError)
    {
        var parser = PHPUnserializer(bytes, maxDepth: maxDepth)
        self = try parser.parseDocument()
    }

    /// Parses PHP `serialize()` output (see `init(unserializing:maxDepth:)` for the rules).
    public init(unserializing bytes: [UInt8]) throws(PHPSerializationError) {
        // Array's withUnsafeBytes only rethrows `any Error`: carry the typed error out in a Result.
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(PHPSerializationError) in try PHPValue(unserializing: raw) }
        }
        self = try parsed.get()
    }

    /// Parses PHP `serialize()` output held in a `ByteBuffer`.
    public init(unserializing buffer: ByteBuffer) throws(PHPSerializationError) {
        self = try buffer.withReadableBytes { (raw) throws(PHPSerializationError) in try PHPValue(unserializing: raw) }
    }

    /// Parses PHP `serialize()` output given as text (`"a:1:{i:0;s:1:\"x\";}"`).
    public init(unserializing text: String) throws(PHPSerializationError) {
        try self.init(unserializing: Array(text.utf8))
    }
}

/// A bounds-checked reader of PHP's serialization format over borrowed bytes.
public struct PHPUnserializer {
    /// How deep arrays may nest. PHP allows 4096; 64 is plenty for messages and keeps a hostile input
    /// from using much stack.
    public static let defaultMaxDepth = 64

    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    private(set) var position = 0
    private var depth = 0

    init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// One value, then nothing but an optional `\n`.
    mutating func parseDocument() throws(PHPSerializationError) -> PHPValue {
        let value = try parseValue()
        try expectEnd()
        return value
    }

    /// A top-level array, with where each value's bytes lie, so a server can forward a value as it came
    /// instead of serializing it again (a Channel publish's `data`). The values of `rawKeys` are checked
    /// but not built (their value reads `.null`): only their bytes are wanted.
    mutating func parseArrayKeepingRanges(rawKeys: Set<PHPKey> = []) throws(PHPSerializationError)
        -> [(key: PHPKey, value: PHPValue, range: Range<Int>)]
    {
        guard try next() == UInt8(ascii: "a") else { throw fail("expected an array", at: 0) }
        try expect(UInt8(ascii: ":"))
        let count = try readCount(until: UInt8(ascii: ":"))
        try expect(UInt8(ascii: "{"))
        guard count <= (bytes.count - position) / 6 else {
            throw fail("array count \(count) cannot fit in the \(bytes.count - position) bytes left")
        }
        var entries: [(key: PHPKey, value: PHPValue, range: Range<Int>)] = []
        entries.reserveCapacity(count)
        depth += 1
        for _ in 0..<count {
            let key = try readKey()
            let start = position
            let value: PHPValue
            if rawKeys.contains(key) {
                try skipValue()
                value = .null
            } else {
                value = try parseValue()
            }
            if let duplicate = entries.firstIndex(where: { $0.key == key }) {
                entries[duplicate] = (key, value, start..<position)
            } else {
                entries.append((key, value, start..<position))
            }
        }
        depth -= 1
        try expect(UInt8(ascii: "}"))
        try expectEnd()
        return entries
    }

    mutating func expectEnd() throws(PHPSerializationError) {
        let rest = bytes.count - position
        if rest == 0 || (rest == 1 && bytes[position] == 0x0A) { return }
        throw fail("\(rest) unexpected byte(s) after the value")
    }

    // MARK: - Values

    mutating func parseValue() throws(PHPSerializationError) -> PHPValue {
        let tag = try next()
        switch tag {
        case UInt8(ascii: "N"):
            try expect(UInt8(ascii: ";"))
            return .null
        case UInt8(ascii: "b"):
            try expect(UInt8(ascii: ":"))
            let flag = try next()
            guard flag == UInt8(ascii: "0") || flag == UInt8(ascii: "1") else {
                throw fail("a bool must be 0 or 1", at: position - 1)
            }
            try expect(UInt8(ascii: ";"))
            return .bool(flag == UInt8(ascii: "1"))
        case UInt8(ascii: "i"):
            try expect(UInt8(ascii: ":"))
            let number = try readInt(until: UInt8(ascii: ";"))
            return .int(number)
        case UInt8(ascii: "d"):
            try expect(UInt8(ascii: ":"))
            return .double(try readDouble())
        case UInt8(ascii: "s"):
            return .string(try readStringBody())
        case UInt8(ascii: "a"):
            return .array(try readArrayBody())
        case UInt8(ascii: "O"), UInt8(ascii: "C"), UInt8(ascii: "E"):
            throw fail("objects and enums are not supported", at: position - 1)
        case UInt8(ascii: "r"), UInt8(ascii: "R"):
            throw fail("references are not supported", at: position - 1)
        default:
            throw fail("unknown type tag \(Self.show(tag))", at: position - 1)
        }
    }

    /// Checks one value like `parseValue` without building it.
    mutating func skipValue() throws(PHPSerializationError) {
        guard let tag = peek() else { throw fail("unexpected end of input") }
        switch tag {
        case UInt8(ascii: "s"):
            position += 1
            position += try readStringHead()
            try expect(UInt8(ascii: "\""))
            try expect(UInt8(ascii: ";"))
        case UInt8(ascii: "a"):
            position += 1
            let count = try readArrayHead()
            for _ in 0..<count {
                _ = try readKey()
                try skipValue()
            }
            try expect(UInt8(ascii: "}"))
            depth -= 1
        default:
            _ = try parseValue()  // scalars: nothing to save by skipping
        }
    }

    /// After `s`: `:<length>:"` with the length checked against what is left; returns the length.
    private mutating func readStringHead() throws(PHPSerializationError) -> Int {
        try expect(UInt8(ascii: ":"))
        let length = try readCount(until: UInt8(ascii: ":"))
        try expect(UInt8(ascii: "\""))
        guard length <= bytes.count - position else {
            throw fail("string length \(length) runs past the end (\(bytes.count - position) bytes left)")
        }
        return length
    }

    /// After `s`: `:<length>:"<bytes>";`.
    private mutating func readStringBody() throws(PHPSerializationError) -> [UInt8] {
        let length = try readStringHead()
        let string = Array(UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]))
        position += length
        try expect(UInt8(ascii: "\""))
        try expect(UInt8(ascii: ";"))
        return string
    }

    /// After `a`: `:<count>:{`, with the count checked against what is left and one level of depth
    /// entered (the caller leaves it after the closing `}`); returns the count.
    private mutating func readArrayHead() throws(PHPSerializationError) -> Int {
        try expect(UInt8(ascii: ":"))
        let count = try readCount(until: UInt8(ascii: ":"))
        try expect(UInt8(ascii: "{"))
        // The shortest entry, `i:0;N;`, is 6 bytes: a count the remaining bytes cannot hold is a lie,
        // refused before anything is reserved for it.
        guard count <= (bytes.count - position) / 6 else {
            throw fail("array count \(count) cannot fit in the \(bytes.count - position) bytes left")
        }
        depth += 1
        guard depth <= maxDepth else { throw fail("arrays nested deeper than \(maxDepth)") }
        return count
    }

    /// After `a`: `:<count>:{<key><value>…}`.
    private mutating func readArrayBody() throws(PHPSerializationError) -> PHPArray {
        let count = try readArrayHead()
        var array = PHPArray()
        for _ in 0..<count {
            let key = try readKey()
            array[key] = try parseValue()
        }
        try expect(UInt8(ascii: "}"))
        depth -= 1
        return array
    }

    private mutating func readKey() throws(PHPSerializationError) -> PHPKey {
        let tag = try next()
        switch tag {
        case UInt8(ascii: "i"):
            try expect(UInt8(ascii: ":"))
            return .int(try readInt(until: UInt8(ascii: ";")))
        case UInt8(ascii: "s"):
            // PHP stores "5" as the int key 5; so do we, so lookups and re-serialization agree.
            return PHPKey(bytes: try readStringBody())
        default:
            throw fail("an array key must be an int or a string, not \(Self.show(tag))", at: position - 1)
        }
    }

    // MARK: - Numbers

    /// An optionally signed decimal int ending at `terminator`, without overflow.
    private mutating func readInt(until terminator: UInt8) throws(PHPSerializationError) -> Int {
        let start = position
        var negative = false
        if let sign = peek(), sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            position += 1
        }
        var value = 0
        var digits = 0
        while let byte = peek(), PHPNumericString.isDigit(byte) {
            let digit = Int(byte - 0x30)
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1 && !overflow2 else { throw fail("integer out of range", at: start) }
            value = next
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw fail("expected digits", at: position) }
        try expect(terminator)
        return value
    }

    /// A non-negative decimal count (a string length or an array size) ending at `terminator`.
    private mutating func readCount(until terminator: UInt8) throws(PHPSerializationError) -> Int {
        guard let first = peek(), PHPNumericString.isDigit(first) else { throw fail("expected a length", at: position) }
        return try readInt(until: terminator)
    }

    /// A float up to `;`: PHP's `INF`, `-INF`, `NAN` or a decimal with optional fraction and exponent.
    private mutating func readDouble() throws(PHPSerializationError) -> Double {
        let start = position
        while let byte = peek(), byte != UInt8(ascii: ";") {
            guard position - start < 64 else { throw fail("float too long", at: start) }
            position += 1
        }
        let token = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        try expect(UInt8(ascii: ";"))
        switch token {
        case "INF": return .infinity
        case "-INF": return -.infinity
        case "NAN": return .nan
        default: break
        }
        // Only a decimal form may reach Double(_:), which would also take "inf", "nan" and hex floats.
        let allowed = token.utf8.allSatisfy { byte in
            PHPNumericString.isDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e")
                || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
        }
        // The numeric-string grammar validates the layout; Double(_:) then reads it (keeping -0).
        guard allowed, PHPNumericString.parse(Array(token.utf8)) != nil, let value = Double(token) else {
            throw fail("not a float: \(token.debugDescription)", at: start)
        }
        return value
    }

    // MARK: - Bytes

    @inline(__always)
    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func next() throws(PHPSerializationError) -> UInt8 {
        guard position < bytes.count else { throw fail("unexpected end of input") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func expect(_ byte: UInt8) throws(PHPSerializationError) {
        guard position < bytes.count else { throw fail("unexpected end of input, expected \(Self.show(byte))") }
        guard bytes[position] == byte else {
            throw fail("expected \(Self.show(byte)), found \(Self.show(bytes[position]))")
        }
        position += 1
    }

    private func fail(_ reason: String, at offset: Int? = nil) -> PHPSerializationError {
        PHPSerializationError(offset: offset ?? position, reason: reason)
    }

    private static func show(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
    }
}
