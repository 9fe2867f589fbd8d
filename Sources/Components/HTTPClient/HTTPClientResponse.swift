import CWorkermanShims
import WorkermanTransport

/// A complete response: status, headers and the body (decoded from gzip or deflate when the server
/// compressed it), and the URL it finally came from (after redirects).
///
/// ```swift
/// client.get("http://127.0.0.1:8080/hello") { result in
///     if let response = try? result.get() { print(response.status, response.body.string) }
/// }
/// ```
public struct HTTPClientResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: ByteBuffer
    public var url: HTTPURL

    public var status: Int { head.status }
    public var headers: [(name: String, value: String)] { head.headers }

    /// The first value of header `name` (any case).
    public func header(_ name: String) -> String? { head.header(name) }

    /// The body as UTF-8 text.
    public var text: String { body.string }
}

/// `Content-Encoding: gzip` / `deflate` undone with zlib as loaded at run time (no link, no headers):
/// window bits 47 let zlib detect a gzip or zlib header itself. The output is bounded, so a
/// decompression bomb stops at the limit.
enum ContentDecoder {
    static var isAvailable: Bool { wm_zlib_available() != 0 }

    static func decode(_ body: ByteBuffer, encoding: String, limit: Int) throws(HTTPClientError) -> ByteBuffer {
        let coding = encoding.lowercased().trimmingSpaces
        guard coding == "gzip" || coding == "x-gzip" || coding == "deflate" else {
            if coding.isEmpty || coding == "identity" { return body }
            throw HTTPClientError(.decodingFailed, "unknown Content-Encoding \(encoding)")
        }
        guard let stream = wm_zstream_inflate_new(-47) else { throw HTTPClientError(.decodingFailed, "zlib (libz.so.1) is not available") }
        defer { wm_zstream_free(stream) }
        var output = ByteBuffer()
        var failure: HTTPClientError?
        body.withReadableBytes { input in
            var offset = 0
            while failure == nil {
                let room = 16 * 1024
                let target = output.reserveWritable(room)
                var used: CUnsignedInt = 0
                var written: CUnsignedInt = 0
                let result = wm_zstream_run(
                    stream, input.baseAddress.map { $0 + offset }, CUnsignedInt(input.count - offset), target, CUnsignedInt(room), 0, &used,
                    &written)
                offset += Int(used)
                output.commitWritten(Int(written))
                if output.readableBytes > limit { failure = HTTPClientError(.tooLarge, "decoded body over \(limit) bytes") }
                switch result {
                case 1: return  // Z_STREAM_END
                case 0 where offset == input.count && Int(written) < room:
                    failure = HTTPClientError(.decodingFailed, "\(coding) body ends early")
                case 0: continue
                default: failure = HTTPClientError(.decodingFailed, "corrupt \(coding) body (zlib \(result))")
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
