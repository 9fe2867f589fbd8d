import WorkermanTransport

/// Workerman's `frame://` protocol: a 4-byte big-endian length that counts itself, then the payload.
/// GlobalData and Channel speak it.
///
/// A length below 4 cannot be a frame and closes the connection (Workerman would wait forever on 0);
/// a length over `maxPackageSize` closes it too. Messages arrive as `ByteBuffer`s; anything
/// `FramePayload` (`ByteBuffer`, `String`, `[UInt8]`) can be sent.
///
/// ```swift
/// // "\0\0\0\u{9}hello" → onMessage(ByteBuffer("hello"))
/// connection.send("hello")              // 00 00 00 09 h e l l o
/// connection.send(ByteBuffer([1, 2, 3]))
/// ```
public struct FrameCodec: Codec {
    public typealias Message = ByteBuffer
    public typealias Outbound = any FramePayload

    /// The header's size, which the length includes.
    public static let headerSize = 4

    public init() {}

    /// The receive loop, compiled specialized for this codec (see `Codec.process(_:on:)`).
    public static func process(_ bytes: UnsafeRawBufferPointer, on connection: TCPConnection<Self>) -> Int {
        connection.runCodec(on: bytes)
    }


    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        guard bytes.count >= Self.headerSize else { return .needMore }
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        if length < Self.headerSize { return .reject(CodecRejection("frame length \(length) below header size")) }
        if length > context.maxPackageSize {
            return .reject(CodecRejection("frame length \(length) over maxPackageSize"))
        }
        return .message(length: length)
    }

    public mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection)
        -> ByteBuffer?
    {
        ByteBuffer(UnsafeRawBufferPointer(rebasing: packet[Self.headerSize...]))
    }

    public mutating func encode(
        _ message: any FramePayload,
        into buffer: inout ByteBuffer,
        _ context: inout CodecContext
    ) {
        let length = Self.headerSize + message.byteCount
        precondition(length <= Int(UInt32.max), "a frame holds at most 4 GiB")
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        message.write(into: &buffer)
    }
}

/// Bytes `FrameCodec` can send: `ByteBuffer`, `String` (UTF-8), `[UInt8]`.
public protocol FramePayload {
    /// The payload's length in bytes.
    var byteCount: Int { get }
    /// Appends the payload to `buffer`.
    func write(into buffer: inout ByteBuffer)
}

extension ByteBuffer: FramePayload {
    public var byteCount: Int { readableBytes }
    public func write(into buffer: inout ByteBuffer) { buffer.append(self) }
}

extension String: FramePayload {
    public var byteCount: Int { utf8.count }
    public func write(into buffer: inout ByteBuffer) { buffer.append(self) }
}

extension Array: FramePayload where Element == UInt8 {
    public var byteCount: Int { count }
    public func write(into buffer: inout ByteBuffer) { buffer.append(contentsOf: self) }
}
