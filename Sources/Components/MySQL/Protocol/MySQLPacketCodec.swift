import WorkermanTransport

/// One logical MySQL packet: its payload (reassembled when the server split it in 16 MiB parts) and the
/// sequence id of its last part, from which the next packet of the exchange counts on.
public struct MySQLPacket: Equatable, Sendable {
    public var sequenceID: UInt8
    public var payload: [UInt8]

    public init(sequenceID: UInt8, payload: [UInt8]) {
        self.sequenceID = sequenceID
        self.payload = payload
    }

    /// How many parts the packet took on the wire (a payload of 2^24 - 1 bytes or more takes several).
    var partCount: Int { payload.count / MySQLPacketCodec.maxPartLength + 1 }
    /// The sequence id of its first part.
    var firstSequenceID: UInt8 { sequenceID &- UInt8(truncatingIfNeeded: partCount - 1) }

    /// Whether this is an ERR packet.
    var isError: Bool { payload.first == 0xFF }
    /// Whether this is an EOF packet (0xFE and too short to be a row or an 8-byte length).
    var isEOF: Bool { payload.first == 0xFE && payload.count < 9 }
}

/// MySQL packet framing as a sans-I/O codec: a 3-byte little-endian length and a sequence id before each
/// payload. A payload of 2^24 - 1 bytes or more is sent as several parts, each full part followed by
/// another (the last one shorter, possibly empty); `input` waits for all of them and `decode` joins them.
/// Outbound packets are split the same way, their parts numbered on from the packet's sequence id.
///
/// ```swift
/// let connection = try TCPClient<MySQLPacketCodec>(loop: loop, url: "tcp://127.0.0.1:3306")
/// connection.onMessage = { _, packet in print(packet.payload.count) }
/// ```
public struct MySQLPacketCodec: Codec {
    public typealias Message = MySQLPacket
    public typealias Outbound = MySQLPacket

    /// The largest part: a part this long says another part follows.
    public static let maxPartLength = 0xFF_FFFF

    public init() {}

    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        var offset = 0
        var payloadLength = 0
        while true {
            guard bytes.count - offset >= 4 else { return .needMore }
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
            payloadLength += length
            // Checked before the parts arrive, so a huge announced packet is refused without buffering it.
            guard payloadLength <= context.maxPackageSize else {
                return .reject(CodecRejection("MySQL packet of more than \(context.maxPackageSize) bytes"))
            }
            offset += 4 + length
            if length < Self.maxPartLength { return offset <= bytes.count ? .message(length: offset) : .needMore }
            guard offset <= bytes.count else { return .needMore }
        }
    }

    public mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection)
        -> MySQLPacket?
    {
        guard let joined = Self.join(packet) else { throw CodecRejection("truncated MySQL packet") }
        return joined
    }

    public mutating func encode(_ packet: MySQLPacket, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        Self.write(packet, into: &buffer)
    }

    /// Joins the parts of one packet (exactly the bytes `input` measured); nil when they do not add up.
    static func join(_ bytes: UnsafeRawBufferPointer) -> MySQLPacket? {
        var payload: [UInt8] = []
        var offset = 0
        while bytes.count - offset >= 4 {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
            let sequenceID = bytes[offset + 3]
            let start = offset + 4
            guard start + length <= bytes.count else { return nil }
            if length == bytes.count - start, payload.isEmpty, length < maxPartLength {
                // The common case, one part: one copy.
                return MySQLPacket(sequenceID: sequenceID, payload: Array(bytes[start..<(start + length)]))
            }
            payload.append(contentsOf: bytes[start..<(start + length)])
            offset = start + length
            if length < maxPartLength {
                return offset == bytes.count ? MySQLPacket(sequenceID: sequenceID, payload: payload) : nil
            }
        }
        return nil
    }

    /// Writes `packet` as parts of at most `maxPartLength` bytes (and an empty last part when the payload
    /// is a multiple of it).
    static func write(_ packet: MySQLPacket, into buffer: inout ByteBuffer) {
        var sequenceID = packet.sequenceID
        var start = 0
        let payload = packet.payload
        while true {
            let length = min(maxPartLength, payload.count - start)
            let header: [UInt8] = [
                UInt8(truncatingIfNeeded: length), UInt8(truncatingIfNeeded: length >> 8),
                UInt8(truncatingIfNeeded: length >> 16), sequenceID,
            ]
            buffer.append(contentsOf: header)
            payload.withUnsafeBytes { buffer.append(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
            start += length
            sequenceID &+= 1
            if length < maxPartLength { return }
        }
    }
}
