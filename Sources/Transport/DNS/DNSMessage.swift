#if canImport(Glibc)
import Glibc
#endif

/// A DNS record type (the ones the resolver asks for, and any other by number).
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let aaaa = DNSRecordType(rawValue: 28)

    public var description: String {
        switch self {
        case .a: "A"
        case .aaaa: "AAAA"
        case .cname: "CNAME"
        case .soa: "SOA"
        default: "TYPE\(rawValue)"
        }
    }
}

/// One resource record of an answer.
public struct DNSRecord: Equatable, Sendable {
    public enum Payload: Equatable, Sendable {
        /// An A or AAAA record's address, as text (`192.0.2.1`, `2001:db8::1`).
        case address(String)
        /// A CNAME's target (lower-cased, no trailing dot).
        case canonicalName(String)
        /// Any other type: not read.
        case other
    }

    /// The owner name, lower-cased, without the trailing dot.
    public let name: String
    public let type: DNSRecordType
    public let ttl: UInt32
    public let payload: Payload
}

/// A parsed DNS message: the header fields the resolver checks, the question and the answers. Built
/// by `DNSMessage.parse`, which refuses anything malformed rather than guessing.
///
/// ```swift
/// let query = DNSMessage.query(id: 0x1234, name: "example.com", type: .a)
/// let answer = try DNSMessage.parse(bytesFromTheServer)
/// ```
public struct DNSMessage: Equatable, Sendable {
    public var id: UInt16
    public var isResponse: Bool
    /// TC: the answer did not fit a datagram (ask again over TCP).
    public var isTruncated: Bool
    /// 0 no error, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED…
    public var responseCode: UInt8
    public var questionName: String?
    public var questionType: DNSRecordType?
    public var answers: [DNSRecord]
    /// The smallest SOA minimum in the authority section (the TTL for a negative answer), if any.
    public var negativeTTL: UInt32?

    /// The longest name (RFC 1035: 255 bytes on the wire).
    static let maxNameLength = 255
    /// Compression pointers followed for one name (each must point backwards, so this is a second guard).
    static let maxPointerJumps = 32

    /// A recursive query for `name` (RD set), as sent over UDP.
    ///
    /// - Throws: `DNSError` `.malformed` when `name` is not a valid host name (empty label, label over
    ///   63 bytes, name over 255).
    public static func query(id: UInt16, name: String, type: DNSRecordType) throws(DNSError) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        var utf8 = Substring(name).utf8
        if utf8.last == UInt8(ascii: ".") { utf8 = utf8.dropLast() }
        guard !utf8.isEmpty else { throw DNSError(.malformed, "empty name") }
        bytes.reserveCapacity(12 + utf8.count + 6)
        // One pass over the bytes: each label's length byte is written when its end is seen.
        var lengthAt = bytes.count
        bytes.append(0)
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                let length = bytes.count - lengthAt - 1
                guard length > 0, length <= 63 else { throw DNSError(.malformed, "bad label in \(name)") }
                bytes[lengthAt] = UInt8(length)
                lengthAt = bytes.count
                bytes.append(0)
            } else {
                bytes.append(byte)
            }
        }
        let length = bytes.count - lengthAt - 1
        guard length > 0, length <= 63 else { throw DNSError(.malformed, "bad label in \(name)") }
        bytes[lengthAt] = UInt8(length)
        bytes.append(0)
        guard bytes.count - 12 <= maxNameLength else { throw DNSError(.malformed, "name longer than 255 bytes: \(name)") }
        bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1]
        return bytes
    }

    /// Parses a whole message. Names follow compression pointers only backwards (a pointer to its own
    /// position or later is a loop or a forward reference: refused), never past the end, at most 255
    /// bytes long; every record's data must fit the message, and A/AAAA data must be 4/16 bytes.
    public static func parse(_ bytes: [UInt8]) throws(DNSError) -> DNSMessage {
        var reader = DNSReader(bytes: bytes)
        let id = try reader.u16()
        let flags = try reader.u16()
        let questions = try reader.u16()
        let answerCount = try reader.u16()
        let authorityCount = try reader.u16()
        _ = try reader.u16()  // additional records: not read
        var message = DNSMessage(
            id: id,
            isResponse: flags & 0x8000 != 0,
            isTruncated: flags & 0x0200 != 0,
            responseCode: UInt8(flags & 0x000f),
            questionName: nil,
            questionType: nil,
            answers: [],
            negativeTTL: nil
        )
        guard questions <= 1 else { throw DNSError(.malformed, "\(questions) questions") }
        if questions == 1 {
            message.questionName = try reader.name()
            message.questionType = DNSRecordType(rawValue: try reader.u16())
            _ = try reader.u16()  // class
        }
        // A truncated answer may stop mid-record: the header and question are all that matter then.
        if message.isTruncated { return message }
        message.answers.reserveCapacity(min(Int(answerCount), 64))
        for _ in 0..<answerCount { message.answers.append(try reader.record()) }
        for _ in 0..<authorityCount {
            let (type, ttl, minimum) = try reader.authorityRecord()
            if type == .soa { message.negativeTTL = min(message.negativeTTL ?? .max, min(ttl, minimum ?? ttl)) }
        }
        return message
    }
}

/// A bounds-checked cursor over a DNS message.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func u8() throws(DNSError) -> UInt8 {
        guard offset < bytes.count else { throw DNSError(.malformed, "message ends at \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSError) -> UInt16 {
        UInt16(try u8()) << 8 | UInt16(try u8())
    }

    mutating func u32() throws(DNSError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    /// A possibly compressed name at the cursor; the cursor moves past its in-place part.
    mutating func name() throws(DNSError) -> String {
        // The text is built in one byte array (labels lower-cased as they are copied), then one String.
        var text: [UInt8] = []
        text.reserveCapacity(32)
        var length = 1
        var position = offset
        // Every pointer must go strictly before the start of the labels it interrupts: the walk then
        // always moves backwards and ends, whatever the message says.
        var floor = offset
        var jumped = false
        var jumps = 0
        while true {
            guard position < bytes.count else { throw DNSError(.malformed, "name runs past the end") }
            let size = Int(bytes[position])
            switch size & 0xc0 {
            case 0x00:
                if size == 0 {
                    if !jumped { offset = position + 1 }
                    return String(decoding: text, as: UTF8.self)
                }
                guard position + 1 + size <= bytes.count else { throw DNSError(.malformed, "label runs past the end") }
                length += size + 1
                guard length <= DNSMessage.maxNameLength else { throw DNSError(.malformed, "name longer than 255 bytes") }
                if !text.isEmpty { text.append(UInt8(ascii: ".")) }
                for byte in bytes[(position + 1)...(position + size)] {
                    // Printable ASCII only (host names are LDH; underscores occur): a name's text is then
                    // exactly its wire bytes, so the 255-byte bound holds for the text too.
                    guard byte > 0x20, byte < 0x7f, byte != UInt8(ascii: ".") else {
                        throw DNSError(.malformed, "a dot, space or non-ASCII byte inside a label")
                    }
                    text.append(byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte)
                }
                position += size + 1
            case 0xc0:
                guard position + 1 < bytes.count else { throw DNSError(.malformed, "pointer runs past the end") }
                let target = (size & 0x3f) << 8 | Int(bytes[position + 1])
                guard target < floor else { throw DNSError(.malformed, "compression pointer to \(target) does not point backwards") }
                jumps += 1
                guard jumps <= DNSMessage.maxPointerJumps else { throw DNSError(.malformed, "too many compression pointers") }
                if !jumped { offset = position + 2 }
                jumped = true
                floor = target
                position = target
            default:
                throw DNSError(.malformed, "unknown label type \(size >> 6)")
            }
        }
    }

    mutating func record() throws(DNSError) -> DNSRecord {
        let owner = try name()
        let type = DNSRecordType(rawValue: try u16())
        _ = try u16()  // class
        let ttl = try u32()
        let length = Int(try u16())
        let end = offset + length
        guard end <= bytes.count else { throw DNSError(.malformed, "record data runs past the end") }
        let payload: DNSRecord.Payload
        switch type {
        case .a:
            guard length == 4 else { throw DNSError(.malformed, "A record of \(length) bytes") }
            payload = .address(DNSAddressText.ipv4(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]))
        case .aaaa:
            guard length == 16 else { throw DNSError(.malformed, "AAAA record of \(length) bytes") }
            payload = .address(DNSAddressText.ipv6(bytes[offset..<end]))
        case .cname:
            let target = try name()
            guard offset <= end else { throw DNSError(.malformed, "CNAME longer than its record") }
            payload = .canonicalName(target)
        default:
            payload = .other
        }
        offset = end
        return DNSRecord(name: owner, type: type, ttl: ttl > 0x7fff_ffff ? 0 : ttl, payload: payload)
    }

    /// An authority record: its type, TTL and, for an SOA, the minimum field.
    mutating func authorityRecord() throws(DNSError) -> (DNSRecordType, UInt32, UInt32?) {
        _ = try name()
        let type = DNSRecordType(rawValue: try u16())
        _ = try u16()
        let ttl = try u32()
        let length = Int(try u16())
        let end = offset + length
        guard end <= bytes.count else { throw DNSError(.malformed, "record data runs past the end") }
        var minimum: UInt32?
        if type == .soa, length >= 22 {
            var soa = DNSReader(bytes: Array(bytes[..<end]), offset: offset)
            _ = try soa.name()
            _ = try soa.name()
            guard soa.offset + 20 == end else { throw DNSError(.malformed, "SOA of the wrong length") }
            soa.offset += 16
            minimum = try soa.u32()
        }
        offset = end
        return (type, ttl, minimum)
    }
}
