import WorkermanTransport

/// One piece of a chunked response (RFC 9112 §7.1), sent after `HTTPResponse.chunked()`; an empty chunk
/// (`HTTPChunk.end`) ends the body, optionally with trailer fields.
///
/// ```swift
/// connection.send(.response(.chunked(headers: ["Content-Type": "text/plain"])))
/// connection.send(.chunk("first part\n"))
/// connection.send(.chunk("second part\n"))
/// connection.send(.chunk(.end))
/// ```
public struct HTTPChunk: Sendable, Equatable {
    public var data: HTTPBody
    /// Trailer fields, sent only with the last chunk.
    public var trailers: HTTPHeaders

    public init(_ data: HTTPBody, trailers: HTTPHeaders = [:]) {
        self.data = data
        self.trailers = trailers
    }

    public init(_ text: String) { self.init(.text(text)) }

    public init(_ bytes: ByteBuffer) { self.init(.bytes(bytes)) }

    /// The last chunk: ends the body.
    public static var end: HTTPChunk { HTTPChunk(.empty) }

    /// Whether this chunk ends the body.
    public var isLast: Bool { data.isEmpty }

    /// The wire form: `<hex size>\r\n<data>\r\n`, or `0\r\n<trailers>\r\n` for the last chunk.
    public func write(into buffer: inout ByteBuffer) {
        let count = data.count
        buffer.appendHex(count)
        buffer.append(static: "\r\n")
        if count == 0 {
            for field in trailers
            where HTTPResponse.isValidFieldName(field.name) && HTTPResponse.isValidFieldValue(field.value) {
                buffer.append(field.name)
                buffer.append(static: ": ")
                buffer.append(field.value)
                buffer.append(static: "\r\n")
            }
        } else {
            data.write(into: &buffer)
        }
        buffer.append(static: "\r\n")
    }
}

extension HTTPChunk: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(.text(value)) }
}
