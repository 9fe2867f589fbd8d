import WorkermanTransport

/// RESP2 and RESP3, the Redis protocol, as a sans-I/O codec: replies in (`RESPValue`), commands out
/// (`RedisCommand`, as arrays of bulk strings). Strict and bounded: a bulk longer than
/// `maxPackageSize`, a line over 64 KiB, nesting deeper than 16 or a malformed header rejects the stream.
///
/// ```swift
/// let redis = try TCPClient<RESPCodec>(loop: loop, url: "tcp://127.0.0.1:6379")
/// redis.onMessage = { _, reply in print(reply) }
/// redis.send(["PING"])
/// ```
public struct RESPCodec: Codec {
    public typealias Message = RESPValue
    public typealias Outbound = RedisCommand

    /// How deep arrays may nest (Redis' own replies nest two or three levels).
    public static let maxDepth = 16
    /// The longest simple string, error or header line.
    public static let maxLineLength = 64 * 1024
    /// The most elements one array may announce.
    public static let maxElements = 1 << 20

    public init() {}

    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        switch RESPParser.parse(bytes, from: 0, depth: 0, build: false, maxBulk: context.maxPackageSize) {
        case .incomplete: return .needMore
        case .invalid(let reason): return .reject(CodecRejection(reason))
        case .value(_, let end): return .message(length: end)
        }
    }

    public mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection)
        -> RESPValue?
    {
        switch RESPParser.parse(packet, from: 0, depth: 0, build: true, maxBulk: context.maxPackageSize) {
        case .value(let value?, let end) where end == packet.count: return value
        case .invalid(let reason): throw CodecRejection(reason)
        default: throw CodecRejection("incomplete RESP value")
        }
    }

    public mutating func encode(_ command: RedisCommand, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        Self.encode(command, into: &buffer)
    }

    /// Appends `command` as a RESP array of bulk strings (what pipelines batch into one write).
    public static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        buffer.append("*\(command.arguments.count)\r\n")
        for argument in command.arguments {
            buffer.append("$\(argument.readableBytes)\r\n")
            buffer.append(argument)
            buffer.append("\r\n")
        }
    }
}

/// One recursive pass over RESP bytes: either just finding where the first value ends (`build: false`,
/// for `input`) or also building it (for `decode`).
enum RESPParser {
    enum Result {
        case incomplete
        case invalid(String)
        /// The value (nil when not built) and the offset just past it.
        case value(RESPValue?, end: Int)
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, from start: Int, depth: Int, build: Bool, maxBulk: Int) -> Result {
        guard start < bytes.count else { return .incomplete }
        let tag = bytes[start]
        guard let lineEnd = findLineEnd(bytes, from: start + 1) else { return .incomplete }
        guard lineEnd >= 0 else { return .invalid("RESP line not ended by CRLF within \(RESPCodec.maxLineLength) bytes") }
        let line = UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<lineEnd])
        let afterLine = lineEnd + 2
        switch tag {
        case UInt8(ascii: "+"):
            return .value(build ? .simpleString(String(decoding: line, as: UTF8.self)) : nil, end: afterLine)
        case UInt8(ascii: "-"):
            return .value(build ? .error(String(decoding: line, as: UTF8.self)) : nil, end: afterLine)
        case UInt8(ascii: ":"):
            guard let number = integer(line) else { return .invalid("bad RESP integer") }
            return .value(build ? .integer(number) : nil, end: afterLine)
        case UInt8(ascii: "_"):
            guard line.isEmpty else { return .invalid("RESP3 null with a payload") }
            return .value(build ? .null : nil, end: afterLine)
        case UInt8(ascii: "#"):
            guard line.count == 1, line[0] == UInt8(ascii: "t") || line[0] == UInt8(ascii: "f") else {
                return .invalid("bad RESP3 boolean")
            }
            return .value(build ? .boolean(line[0] == UInt8(ascii: "t")) : nil, end: afterLine)
        case UInt8(ascii: ","):
            guard let number = double(line) else { return .invalid("bad RESP3 double") }
            return .value(build ? .double(number) : nil, end: afterLine)
        case UInt8(ascii: "("):
            guard isBigNumber(line) else { return .invalid("bad RESP3 big number") }
            return .value(build ? .bigNumber(String(decoding: line, as: UTF8.self)) : nil, end: afterLine)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            return blob(tag, bytes, line, afterLine, build: build, maxBulk: maxBulk)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            return aggregate(tag, bytes, line, afterLine, depth: depth, build: build, maxBulk: maxBulk)
        default:
            return .invalid("unknown RESP type byte \(tag)")
        }
    }

    /// A length-prefixed payload: a bulk string (`$`), a blob error (`!`) or a verbatim string (`=`).
    private static func blob(
        _ tag: UInt8, _ bytes: UnsafeRawBufferPointer, _ line: UnsafeRawBufferPointer, _ afterLine: Int, build: Bool, maxBulk: Int
    ) -> Result {
        // `$?`: RESP3's streamed strings, which Redis never sends; refused by name rather than as a bad length.
        if line.count == 1, line[0] == UInt8(ascii: "?") { return .invalid("streamed RESP3 strings are not supported") }
        guard let length = integer(line), length >= (tag == UInt8(ascii: "$") ? -1 : 0) else { return .invalid("bad RESP bulk length") }
        if length == -1 { return .value(build ? .null : nil, end: afterLine) }
        guard length <= maxBulk else { return .invalid("RESP bulk of \(length) bytes over the limit \(maxBulk)") }
        let end = afterLine + length + 2
        guard end <= bytes.count else { return .incomplete }
        guard bytes[end - 2] == 13, bytes[end - 1] == 10 else { return .invalid("RESP bulk not followed by CRLF") }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[afterLine..<(end - 2)])
        if tag == UInt8(ascii: "=") {
            // `fmt:` then the text; the format is three bytes.
            guard payload.count >= 4, payload[3] == UInt8(ascii: ":") else { return .invalid("RESP3 verbatim string without a format") }
            guard build else { return .value(nil, end: end) }
            let format = String(decoding: UnsafeRawBufferPointer(rebasing: payload[0..<3]), as: UTF8.self)
            return .value(.verbatimString(format: format, text: ByteBuffer(UnsafeRawBufferPointer(rebasing: payload[4...]))), end: end)
        }
        guard build else { return .value(nil, end: end) }
        if tag == UInt8(ascii: "!") { return .value(.error(String(decoding: payload, as: UTF8.self)), end: end) }
        return .value(.bulkString(ByteBuffer(payload)), end: end)
    }

    /// A counted aggregate: array (`*`), set (`~`), push (`>`), map (`%`, two values a pair) or attribute
    /// (`|`, pairs and then the reply they describe).
    private static func aggregate(
        _ tag: UInt8, _ bytes: UnsafeRawBufferPointer, _ line: UnsafeRawBufferPointer, _ afterLine: Int,
        depth: Int, build: Bool, maxBulk: Int
    ) -> Result {
        if line.count == 1, line[0] == UInt8(ascii: "?") { return .invalid("streamed RESP3 aggregates are not supported") }
        let isArray = tag == UInt8(ascii: "*")
        guard let count = integer(line), count >= (isArray ? -1 : 0) else { return .invalid("bad RESP aggregate length") }
        if count == -1 { return .value(build ? .null : nil, end: afterLine) }
        guard count <= RESPCodec.maxElements else { return .invalid("RESP aggregate of \(count) elements over the limit") }
        guard depth < RESPCodec.maxDepth else { return .invalid("RESP aggregates nested deeper than \(RESPCodec.maxDepth)") }
        let paired = tag == UInt8(ascii: "%") || tag == UInt8(ascii: "|")
        // An attribute is followed by the reply it describes: one more value than its pairs.
        let total = (paired ? count * 2 : count) + (tag == UInt8(ascii: "|") ? 1 : 0)
        var elements: [RESPValue] = []
        if build { elements.reserveCapacity(min(total, 1024)) }
        var offset = afterLine
        for _ in 0..<total {
            switch parse(bytes, from: offset, depth: depth + 1, build: build, maxBulk: maxBulk) {
            case .incomplete: return .incomplete
            case .invalid(let reason): return .invalid(reason)
            case .value(let element, let end):
                if let element { elements.append(element) }
                offset = end
            }
        }
        guard build else { return .value(nil, end: offset) }
        switch tag {
        case UInt8(ascii: "~"): return .value(.set(elements), end: offset)
        case UInt8(ascii: ">"): return .value(.push(elements), end: offset)
        case UInt8(ascii: "%"): return .value(.map(pairs(elements, count)), end: offset)
        case UInt8(ascii: "|"): return .value(.attribute(pairs(elements, count), value: elements[total - 1]), end: offset)
        default: return .value(.array(elements), end: offset)
        }
    }

    private static func pairs(_ elements: [RESPValue], _ count: Int) -> [RESPPair] {
        (0..<count).map { RESPPair(key: elements[2 * $0], value: elements[2 * $0 + 1]) }
    }

    /// A RESP3 double: a decimal (with exponent), `inf`, `-inf` or `nan`; nothing Swift's parser would
    /// take besides (hex floats, `infinity`).
    private static func double(_ line: UnsafeRawBufferPointer) -> Double? {
        guard !line.isEmpty, line.count <= 400 else { return nil }
        let text = String(decoding: line, as: UTF8.self)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        for byte in line {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                UInt8(ascii: "+"), UInt8(ascii: "-"):
                continue
            default: return nil
            }
        }
        return Double(text)
    }

    private static func isBigNumber(_ line: UnsafeRawBufferPointer) -> Bool {
        let digits = line.first == UInt8(ascii: "-") ? UnsafeRawBufferPointer(rebasing: line[1...]) : line
        return !digits.isEmpty && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// The offset of the `\r` of the first CRLF at or after `start`; nil when none yet; -1 when a lone
    /// `\r` or `\n` or an overlong line makes the stream invalid.
    private static func findLineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        let limit = min(bytes.count, start + RESPCodec.maxLineLength + 1)
        while index < limit {
            if bytes[index] == 13 {
                guard index + 1 < bytes.count else { return nil }
                return bytes[index + 1] == 10 ? index : -1
            }
            if bytes[index] == 10 { return -1 }
            index += 1
        }
        return limit == bytes.count ? nil : -1
    }

    /// A signed decimal, all of the line.
    private static func integer(_ line: UnsafeRawBufferPointer) -> Int? {
        guard !line.isEmpty, line.count <= 20 else { return nil }
        var index = 0
        var negative = false
        if line[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
            guard line.count > 1 else { return nil }
        }
        var value = 0
        while index < line.count {
            let byte = line[index]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(Int(byte - 0x30)) : shifted.addingReportingOverflow(Int(byte - 0x30))
            guard !overflow1 && !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }
}
