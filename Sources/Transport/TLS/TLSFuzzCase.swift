import WorkermanEventLoop
import WorkermanTransport

/// One fuzz input run through a server TLS stream, shared by the libFuzzer target (Fuzz/TLSFuzz) and the
/// corpus replay in `swift test` so both check the same thing: `bytes` arrive through `feed` in reads of
/// `chunk` bytes (0: all at once), then the end of the stream (`feed(nil)`); every read must answer
/// bytes, "would block", the end or a thrown error, and the stream must close cleanly.
package enum TLSFuzzCase {
    package static func run(
        chunk: Int,
        bytes: [UInt8],
        configuration: TLSServerConfiguration,
        over wire: any ByteStream,
        feed: ([UInt8]?) -> Void
    ) {
        guard let stream = try? configuration.stream(over: wire) else { return }
        var offset = 0
        while offset < bytes.count {
            let end = chunk == 0 ? bytes.count : min(bytes.count, offset + chunk)
            feed(Array(bytes[offset..<end]))
            offset = end
        }
        feed(nil)
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Each read takes at least one fed step or fails, so this ends well within the bound.
        for _ in 0...(bytes.count + 2) {
            let result = buffer.withUnsafeMutableBytes { try? stream.read(into: $0.baseAddress!, count: $0.count) }
            guard let result, case .processed(let count) = result, count > 0 else { break }
        }
        _ = [UInt8](repeating: 0x41, count: 10).withUnsafeBytes { try? stream.write($0) }
        stream.close()
    }
}
