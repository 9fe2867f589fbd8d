import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@Suite("FrameCodec")
struct FrameCodecTests {
    private func frame(_ payload: [UInt8]) -> [UInt8] {
        let length = payload.count + 4
        return [
            UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
        ]
            + payload
    }

    @Test("frames come out as their payloads, in every split")
    func frames() throws {
        let stream = frame(bytes("hello")) + frame([]) + frame(Array(repeating: 7, count: 300))
        let run = try CodecVerifier<FrameCodec>().verify(stream)
        #expect(run.messages == [ByteBuffer("hello"), ByteBuffer(), ByteBuffer(Array(repeating: 7, count: 300))])
        #expect(!run.closed)
    }

    @Test("Workerman's test vector: a header of 0x2A announces 42 bytes")
    func workermanVector() {
        var codec = FrameCodec()
        var context = CodecContext(maxPackageSize: 1000)
        let decision = bytes("\0\0\0*foobar").withUnsafeBytes { codec.input($0, &context) }
        #expect(decision == .message(length: 42))
    }

    @Test("a length below the header size is rejected, not a stall", arguments: [0, 1, 2, 3])
    func shortLength(length: UInt8) throws {
        let run = try CodecVerifier<FrameCodec>().verify([0, 0, 0, length, 1, 2, 3, 4])
        #expect(run.messages.isEmpty)
        #expect(run.rejection?.reason == "frame length \(length) below header size")
    }

    @Test("a frame over maxPackageSize is rejected as soon as the header is in")
    func oversized() throws {
        let run = try CodecVerifier<FrameCodec>(maxPackageSize: 64).verify(frame(Array(repeating: 1, count: 61)))
        #expect(run.rejection?.reason == "frame length 65 over maxPackageSize")
    }

    @Test("encode prepends the length; ByteBuffer, String and [UInt8] can be sent")
    func encode() {
        var codec = FrameCodec()
        var context = CodecContext(maxPackageSize: 100)
        var buffer = ByteBuffer()
        codec.encode("hi", into: &buffer, &context)
        codec.encode(ByteBuffer([1, 2]), into: &buffer, &context)
        codec.encode([UInt8](), into: &buffer, &context)
        #expect(buffer.bytes == [0, 0, 0, 6, 0x68, 0x69, 0, 0, 0, 6, 1, 2, 0, 0, 0, 4])
    }

    @Test("what encode writes, input and decode read back")
    func roundTrip() throws {
        var codec = FrameCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        var buffer = ByteBuffer()
        for payload in ["", "a", String(repeating: "z", count: 70_000)] {
            codec.encode(payload, into: &buffer, &context)
        }
        let run = try CodecVerifier<FrameCodec>().verify(buffer.bytes, splits: [.byteByByte, .chunks(of: 4096)])
        #expect(run.messages.map(\.string) == ["", "a", String(repeating: "z", count: 70_000)])
    }
}
