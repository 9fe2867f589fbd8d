// libFuzzer entry for the HTTP request parser (Fuzz/run.sh http). Not part of the package build.
//
// Each input is one byte of settings followed by a byte stream sent by a client. The stream goes
// through `HTTPServerCodec` as a connection would feed it, whole, byte by byte and in reads of random
// sizes; a crash, a trap, or two splits that disagree (messages, bytes written, close) is a finding.
// Every decoded request is also taken apart (headers, query, cookies, form, multipart) and answered.
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let settings = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    var configuration = HTTPServerConfiguration()
    configuration.maxHeaderSize = settings & 1 == 0 ? 16_384 : 96
    configuration.maxHeaderCount = settings & 2 == 0 ? 100 : 4
    if settings & 4 != 0 { configuration.allowedMethods = nil }
    let maxPackageSize = settings & 8 == 0 ? 1 << 20 : 200

    let verifier = CodecVerifier<HTTPServerCodec>(
        maxPackageSize: maxPackageSize,
        makeCodec: { HTTPServerCodec(configuration: configuration) },
        respond: { request in
            exercise(request)
            if settings & 16 != 0 {
                return [.response(.chunked()), .chunk("part"), .chunk(.end)]
            }
            return [.response(HTTPResponse(body: "\(request.method) \(request.path)"))]
        }
    )
    let splits: [ReadSplit] = [
        .byteByByte, .random(seed: UInt64(settings), maxChunk: 1 + Int(settings >> 4) * 8),
    ]
    do {
        _ = try verifier.verify(stream, splits: splits)
    } catch {
        fatalError("splits disagree: \(error)")
    }
    return 0
}

/// Reads everything a handler might read from a request.
private func exercise(_ request: HTTPRequest) {
    _ = request.target
    _ = request.path
    _ = request.queryString
    _ = request.query.dictionary
    _ = request.headers
    _ = request.header("host")
    _ = request.headers(named: "cookie")
    _ = request.cookies
    _ = request.mediaType
    _ = request.form
    _ = request.bodyString
    _ = request.rawHead
    _ = PercentDecoding.decode(request.path)
    var options = MultipartOptions()
    options.memoryThreshold = Int.max  // never write temporary files while fuzzing
    _ = try? request.multipart(options)
}
