// libFuzzer entry for the HTTP client's response parser (Fuzz/run.sh httpresponse). Not part of the
// package build. The first byte holds settings (bit 0: a response to HEAD; bit 1: small limits; bit 2:
// the stream ends with a close); the rest is what a server sends. Fed whole and byte by byte, the events
// (head, body bytes joined, end) and the error must agree, and body bytes never pass the limit.
import WorkermanHTTPClient
import WorkermanTransport

private struct Outcome: Equatable {
    var heads: [HTTPResponseHead] = []
    var body: [UInt8] = []
    var ends: [Bool] = []
    var error: HTTPClientError?
}

private func run(_ stream: [UInt8], settings: UInt8, chunk: Int) -> Outcome {
    var limits = HTTPResponseParser.Limits()
    if settings & 2 != 0 {
        limits.maxHeadSize = 64
        limits.maxBodySize = 32
        limits.maxHeaderCount = 4
    }
    var parser = HTTPResponseParser(limits: limits)
    parser.expectResponse(toHEAD: settings & 1 != 0)
    var outcome = Outcome()
    var index = 0
    func drain() throws(HTTPClientError) {
        while let event = try parser.next() {
            switch event {
            case .head(let head): outcome.heads.append(head)
            case .body(let bytes):
                outcome.body += bytes.bytes
                precondition(outcome.body.count <= limits.maxBodySize, "body past the limit")
            case .end(let reusable):
                outcome.ends.append(reusable)
                parser.expectResponse(toHEAD: settings & 1 != 0)
            }
        }
    }
    do {
        while index < stream.count {
            let end = min(stream.count, index + chunk)
            stream[index..<end].withUnsafeBytes { parser.feed($0) }
            index = end
            try drain()
        }
        if settings & 4 != 0, let event = try parser.finish(), case .end(let reusable) = event { outcome.ends.append(reusable) }
    } catch {
        outcome.error = error
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let settings = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = run(stream, settings: settings, chunk: max(1, stream.count))
    let dripped = run(stream, settings: settings, chunk: 1)
    // A limit error may surface at a different point byte by byte, but success must match exactly.
    if whole.error == nil && dripped.error == nil {
        precondition(whole == dripped, "whole and byte-by-byte disagree")
    } else {
        precondition((whole.error == nil) == (dripped.error == nil) || whole.error?.code == .tooLarge || dripped.error?.code == .tooLarge,
                     "one split failed and the other did not: \(String(describing: whole.error)) vs \(String(describing: dripped.error))")
    }
    return 0
}
