import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@Suite("TextCodec")
struct TextCodecTests {
    @Test("lines come out one message each, LF or CRLF, in every split")
    func lines() throws {
        let run = try CodecVerifier<TextCodec>().verify(bytes("hello\r\nworld\n\nlast\r\n"))
        #expect(run.messages == ["hello", "world", "", "last"])
        #expect(!run.closed)
    }

    @Test("an unfinished line waits")
    func partialLine() throws {
        let run = try CodecVerifier<TextCodec>().verify(bytes("one\ntwo"))
        #expect(run.messages == ["one"])
        #expect(run.unprocessedBytes == 3)
        #expect(!run.closed)
    }

    @Test("only the last CR is stripped; a CR inside a line is kept")
    func carriageReturns() throws {
        let run = try CodecVerifier<TextCodec>().verify(bytes("a\rb\r\nc\r\r\n"))
        #expect(run.messages == ["a\rb", "c\r"])
    }

    @Test("a line longer than maxPackageSize is rejected at the same byte in every split")
    func oversizedLine() throws {
        let verifier = CodecVerifier<TextCodec>(maxPackageSize: 16)
        let run = try verifier.verify(bytes("short\n" + String(repeating: "x", count: 40) + "\n"))
        #expect(run.messages == ["short"])
        #expect(run.rejection?.reason == "line longer than maxPackageSize")
    }

    @Test("a line of exactly maxPackageSize bytes, LF included, is accepted")
    func lineAtLimit() throws {
        let run = try CodecVerifier<TextCodec>(maxPackageSize: 8).verify(bytes("1234567\n"))
        #expect(run.messages == ["1234567"])
        #expect(!run.closed)
    }

    @Test("invalid UTF-8 is a clear rejection, not a crash")
    func invalidUTF8() throws {
        let run = try CodecVerifier<TextCodec>().verify(bytes("ok\n") + [0xC3, 0x28, 0x0A] + bytes("never\n"))
        #expect(run.messages == ["ok"])
        #expect(run.rejection?.reason == "line is not valid UTF-8")
    }

    @Test("multi-byte characters split across reads decode whole")
    func utf8AcrossReads() throws {
        let run = try CodecVerifier<TextCodec>().verify(bytes("Grüße, 世界 🌍\n"))
        #expect(run.messages == ["Grüße, 世界 🌍"])
    }

    @Test("encode appends a newline")
    func encode() {
        var codec = TextCodec()
        var context = CodecContext(maxPackageSize: 100)
        var buffer = ByteBuffer()
        codec.encode("pong", into: &buffer, &context)
        #expect(buffer.string == "pong\n")
    }
}
