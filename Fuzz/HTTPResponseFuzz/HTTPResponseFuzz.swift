// libFuzzer entry for the HTTP client's response parser (Fuzz/run.sh httpresponse). Not part of the
// package build. The first byte holds settings (bit 0: a response to HEAD; bit 1: small limits; bit 2:
// the stream ends with a close); the rest is what a server sends. The driver is
// Tests/ClientsTests/HTTPParserReplay.swift, shared with the corpus replay. Fed whole and byte by byte, the events
// (head, body bytes joined, end) and the error must agree, and body bytes never pass the limit.
import WorkermanHTTPClient
import WorkermanTransport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let settings = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = HTTPParserReplay.run(stream, settings: settings, chunk: max(1, stream.count))
    let dripped = HTTPParserReplay.run(stream, settings: settings, chunk: 1)
    // A limit error may surface at a different point byte by byte, but success must match exactly.
    if whole.error == nil && dripped.error == nil {
        precondition(whole == dripped, "whole and byte-by-byte disagree")
    } else {
        precondition((whole.error == nil) == (dripped.error == nil) || whole.error?.code == .tooLarge || dripped.error?.code == .tooLarge,
                     "one split failed and the other did not: \(String(describing: whole.error)) vs \(String(describing: dripped.error))")
    }
    return 0
}
