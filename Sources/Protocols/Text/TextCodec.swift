import WorkermanTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Workerman's `text://` protocol: one message per line, for telnet-friendly chat and command servers.
///
/// A message ends at `\n`; a `\r` before it is dropped too, so `\r\n` clients work. A line longer than
/// `maxPackageSize` (its `\n` included) closes the connection, as do bytes that are not UTF-8 (a
/// `.reject` naming the reason, never a crash). `encode` appends `\n`.
///
/// ```swift
/// // client sends "hello\r\nworld\n" → onMessage("hello"), onMessage("world")
/// connection.send("pong")   // "pong\n" on the wire
/// ```
public struct TextCodec: Codec {
    public typealias Message = String
    public typealias Outbound = String

    /// How many bytes of the current line are known to hold no `\n`, so a slowly arriving line is
    /// searched once, not from its start on every read.
    private var scanned = 0

    public init() {}

    /// The receive loop, compiled specialized for this codec (see `Codec.process(_:on:)`).
    public static func process(_ bytes: UnsafeRawBufferPointer, on connection: TCPConnection<Self>) -> Int {
        connection.runCodec(on: bytes)
    }


    public mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        // Search only up to maxPackageSize, so a long line is refused at the same byte however it was
        // split into reads.
        let limit = min(bytes.count, context.maxPackageSize)
        if scanned < limit, let base = bytes.baseAddress {
            if let found = memchr(base + scanned, Int32(ASCII.lf), limit - scanned) {
                scanned = 0
                return .message(length: base.distance(to: UnsafeRawPointer(found)) + 1)
            }
            scanned = limit
        }
        if bytes.count >= context.maxPackageSize {
            return .reject(CodecRejection("line longer than maxPackageSize"))
        }
        return .needMore
    }

    public mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection)
        -> String?
    {
        scanned = 0
        var end = packet.count
        if end > 0, packet[end - 1] == ASCII.lf { end -= 1 }
        if end > 0, packet[end - 1] == ASCII.cr { end -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: packet[0..<end])
        guard let text = String(validating: line, as: UTF8.self) else {
            throw CodecRejection("line is not valid UTF-8")
        }
        return text
    }

    public mutating func encode(_ message: String, into buffer: inout ByteBuffer, _ context: inout CodecContext) {
        buffer.append(message)
        buffer.append(ASCII.lf)
    }
}
