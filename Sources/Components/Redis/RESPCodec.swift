import WorkermanTransport

/// RESP2, the Redis protocol, as a sans-I/O codec: replies in (`RESPValue`), commands out
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

/// One recursive pass over RESP2 bytes: either just finding where the first value ends (`build: false`,
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
        case UInt8(ascii: "$"):
            guard let length = integer(line), length >= -1 else { return .invalid("bad RESP bulk length") }
            if length == -1 { return .value(build ? .null : nil, end: afterLine) }
            guard length <= maxBulk else { return .invalid("RESP bulk of \(length) bytes over the limit \(maxBulk)") }
            let end = afterLine + length + 2
            guard end <= bytes.count else { return .incomplete }
            guard bytes[end - 2] == 13, bytes[end - 1] == 10 else { return .invalid("RESP bulk not followed by CRLF") }
            let value: RESPValue? = build ? .bulkString(ByteBuffer(UnsafeRawBufferPointer(rebasing: bytes[afterLine..<(end - 2)]))) : nil
            return .value(value, end: end)
        case UInt8(ascii: "*"):
            guard let count = integer(line), count >= -1 else { return .invalid("bad RESP array length") }
            if count == -1 { return .value(build ? .null : nil, end: afterLine) }
            guard count <= RESPCodec.maxElements else { return .invalid("RESP array of \(count) elements over the limit") }
            guard depth < RESPCodec.maxDepth else { return .invalid("RESP arrays nested deeper than \(RESPCodec.maxDepth)") }
            var elements: [RESPValue] = []
            if build { elements.reserveCapacity(min(count, 1024)) }
            var offset = afterLine
            for _ in 0..<count {
                switch parse(bytes, from: offset, depth: depth + 1, build: build, maxBulk: maxBulk) {
                case .incomplete: return .incomplete
                case .invalid(let reason): return .invalid(reason)
                case .value(let element, let end):
                    if let element { elements.append(element) }
                    offset = end
                }
            }
            return .value(build ? .array(elements) : nil, end: offset)
        default:
            return .invalid("unknown RESP type byte \(tag)")
        }
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
