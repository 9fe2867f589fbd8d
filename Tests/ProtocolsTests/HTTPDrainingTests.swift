import Testing
import WorkermanProtocols

@testable import WorkermanTransport

@Suite("HTTPServerCodec on a draining connection")
struct HTTPDrainingTests {
    @Test("a draining connection (graceful stop, reload) answers Connection: close and closes")
    func drainingConnection() throws {
        var codec = HTTPServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        let request = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let decision = request.withUnsafeBytes { codec.input($0, &context) }
        #expect(decision == .message(length: request.count))
        _ = try request.withUnsafeBytes { bytes throws(CodecRejection) in try codec.decode(bytes, &context) }
        var draining = CodecContext(maxPackageSize: 1 << 20)
        draining.isDraining = true
        var buffer = ByteBuffer()
        codec.encode("bye", into: &buffer, &draining)
        #expect(buffer.string.contains("Connection: close\r\n"))
        #expect(draining.closeRequested)
    }
}
