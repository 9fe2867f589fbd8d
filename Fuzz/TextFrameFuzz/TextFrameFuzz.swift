// libFuzzer entry for the text:// and frame:// codecs (Fuzz/run.sh textframe). Not part of the
// package build. The first byte picks the codec and maxPackageSize; the rest is the stream, fed whole,
// byte by byte and in random reads, which must all agree.
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTextFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let settings = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let maxPackageSize = settings & 2 == 0 ? 1 << 16 : 24
    do {
        if settings & 1 == 0 {
            let verifier = CodecVerifier<TextCodec>(maxPackageSize: maxPackageSize, respond: { [$0] })
            _ = try verifier.verify(stream, splits: [.byteByByte, .random(seed: UInt64(settings), maxChunk: 9)])
        } else {
            let verifier = CodecVerifier<FrameCodec>(maxPackageSize: maxPackageSize, respond: { [$0] })
            _ = try verifier.verify(stream, splits: [.byteByByte, .random(seed: UInt64(settings), maxChunk: 9)])
        }
    } catch {
        fatalError("splits disagree: \(error)")
    }
    return 0
}
