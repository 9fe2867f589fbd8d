import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

/// The UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Bytes from text whose characters are all U+0000…U+00FF, one byte each (the llhttp vectors are Latin-1).
func latin1(_ text: String) -> [UInt8] {
    text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
}

/// A verifier for the HTTP codec whose handler answers every request with `METHOD path` at once.
func httpVerifier(
    maxPackageSize: Int = 1 << 20,
    configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
    respond: ((HTTPRequest) -> [HTTPOutbound])? = { request in
        [.response(HTTPResponse(body: "\(request.method) \(request.path)"))]
    }
) -> CodecVerifier<HTTPServerCodec> {
    CodecVerifier(
        maxPackageSize: maxPackageSize,
        makeCodec: { HTTPServerCodec(configuration: configuration) },
        respond: respond
    )
}

/// The status code of the first response in `output`, or nil.
func firstStatus(_ output: ByteBuffer) -> Int? {
    let text = output.string
    guard text.hasPrefix("HTTP/1.1 "), text.utf8.count >= 12 else { return nil }
    return Int(text.dropFirst(9).prefix(3))
}

/// Encodes one outbound value with a fresh codec that has seen `request` (or none).
func encode(_ outbound: HTTPOutbound, after request: String? = nil, configuration: HTTPServerConfiguration = .init())
    -> (bytes: String, closes: Bool)
{
    var codec = HTTPServerCodec(configuration: configuration)
    var context = CodecContext(maxPackageSize: 1 << 20)
    if let request {
        let raw = bytes(request)
        let decision = raw.withUnsafeBytes { codec.input($0, &context) }
        guard case .message(let length) = decision else { fatalError("not a request: \(decision)") }
        _ = raw.withUnsafeBytes { try? codec.decode(UnsafeRawBufferPointer(rebasing: $0[0..<length]), &context) }
    }
    var buffer = ByteBuffer()
    codec.encode(outbound, into: &buffer, &context)
    return (buffer.string, context.closeRequested)
}

/// The bodies of the responses in `output` (responses without a body-delimiting length are not split
/// correctly; fine for the tests' simple answers).
func responseBodies(_ output: ByteBuffer) -> [String] {
    output.string.split(separator: "HTTP/1.1 ").compactMap { response in
        guard let range = response.firstRange(of: "\r\n\r\n") else { return nil }
        return String(response[range.upperBound...])
    }
}
