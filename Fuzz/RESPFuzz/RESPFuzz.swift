// libFuzzer entry for the RESP2/RESP3 reply parser (Fuzz/run.sh resp). Not part of the package build. The first
// byte picks maxPackageSize (the bulk limit); the rest is what a server sends, fed whole, byte by byte
// and in random reads, which must all agree. Every reply is also read through the typed decoders.
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let settings = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let maxPackageSize = settings & 1 == 0 ? 1 << 16 : 16
    let verifier = CodecVerifier<RESPCodec>(maxPackageSize: maxPackageSize)
    do {
        let run = try verifier.verify(stream, splits: [.byteByByte, .random(seed: UInt64(settings), maxChunk: 7)])
        for reply in run.messages { decodeEverything(reply) }
    } catch {
        fatalError("splits disagree: \(error)")
    }
    return 0
}

private func decodeEverything(_ reply: RESPValue) {
    _ = try? String?(fromRESP: reply)
    _ = try? Int(fromRESP: reply)
    _ = try? Double?(fromRESP: reply)
    _ = try? Bool(fromRESP: reply)
    _ = try? [String?](fromRESP: reply)
    _ = try? [String: String](fromRESP: reply)
    _ = try? [[RESPValue]](fromRESP: reply)
    _ = try? ByteBuffer?(fromRESP: reply)
    // RESP3: the accessors read through attributes, sets and pushes; HELLO's fields from any map.
    _ = (reply.string, reply.bytes, reply.integer, reply.array, reply.withoutAttributes)
    _ = reply == reply
}
