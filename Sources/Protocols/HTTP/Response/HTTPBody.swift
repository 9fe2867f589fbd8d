import WorkermanTransport

/// A response body: bytes, or text kept as a `String` until it is written (a short `String` needs no
/// allocation, so `HTTPResponse(body: "Hello World")` costs none for its body).
///
/// ```swift
/// HTTPResponse(body: "plain text")
/// HTTPResponse(body: .bytes(imageBuffer))
/// ```
public enum HTTPBody: Sendable, Equatable, ExpressibleByStringLiteral {
    case bytes(ByteBuffer)
    case text(String)

    /// No body.
    public static var empty: HTTPBody { .bytes(ByteBuffer()) }

    public init(stringLiteral value: String) { self = .text(value) }

    /// The length in bytes.
    public var count: Int {
        switch self {
        case .bytes(let buffer): buffer.readableBytes
        case .text(let text): text.utf8.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// The body as bytes.
    public var buffer: ByteBuffer {
        switch self {
        case .bytes(let buffer): buffer
        case .text(let text): ByteBuffer(text)
        }
    }

    /// Appends the body's bytes to `target`.
    @inline(__always)
    /// Copies the body's bytes (exactly `count` of them) to `target`.
    func copyBytes(to target: UnsafeMutableRawPointer) {
        switch self {
        case .bytes(let buffer):
            buffer.withReadableBytes { bytes in
                if let source = bytes.baseAddress { target.copyMemory(from: source, byteCount: bytes.count) }
            }
        case .text(var text):
            text.withUTF8 { bytes in
                if let source = bytes.baseAddress { target.copyMemory(from: source, byteCount: bytes.count) }
            }
        }
    }

    func write(into target: inout ByteBuffer) {
        switch self {
        case .bytes(let buffer): target.append(buffer)
        case .text(let text): target.append(text)
        }
    }

    public static func == (lhs: HTTPBody, rhs: HTTPBody) -> Bool {
        switch (lhs, rhs) {
        case (.text(let left), .text(let right)): left == right
        default: lhs.buffer == rhs.buffer
        }
    }
}
