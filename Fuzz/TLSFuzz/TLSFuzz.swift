// libFuzzer entry for the TLS server stream (Fuzz/run.sh tls). Not part of the package build. The
// first byte picks how the client's bytes are cut into reads (1 to 255 bytes; 0: whole); the rest is
// what a client sends before and during a handshake. The stream must answer each read with bytes, "would
// block", the end or a thrown error, and close cleanly, whatever arrives. The certificate and key come
// from $TLS_FUZZ_DIR (run.sh makes them with openssl).
import WorkermanEventLoop
import WorkermanTLS
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// libFuzzer calls the entry from one thread, one input at a time: the configuration is made once and
// only read afterwards.
nonisolated(unsafe) let configuration: TLSServerConfiguration = {
    let directory = getenv("TLS_FUZZ_DIR").map { String(cString: $0) } ?? "."
    do {
        return try TLSServerConfiguration(certificateChain: directory + "/cert.pem", privateKey: directory + "/key.pem")
    } catch {
        fatalError("TLS fuzzing needs OpenSSL 3 and a certificate: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let wire = ScriptedStream()
    TLSFuzzCase.run(chunk: Int(data[0]), bytes: bytes, configuration: configuration, over: wire) { piece in
        if let piece { wire.queueRead(piece) } else { wire.queueEndOfStream() }
    }
    return 0
}
