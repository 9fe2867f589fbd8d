import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanComponents

@Suite("RESP2 codec")
struct RESPCodecTests {
    @Test("replies of every type come out whole, in every read split")
    func replies() throws {
        let stream = Array(
            ("+OK\r\n-ERR wrong\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n"
                + "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$3\r\nhi!\r\n*2\r\n*1\r\n:1\r\n*0\r\n").utf8
        )
        let run = try CodecVerifier<RESPCodec>().verify(stream) { $0 }
        #expect(
            run.messages == [
                .simpleString("OK"), .error("ERR wrong"), .integer(42), .integer(-7), .bulkString("hello"),
                .bulkString(ByteBuffer()), .null, .null,
                .array([.bulkString("message"), .bulkString("news"), .bulkString("hi!")]),
                .array([.array([.integer(1)]), .array([])]),
            ]
        )
        #expect(!run.closed)
    }

    @Test("bulk strings are binary-safe")
    func binary() throws {
        let payload: [UInt8] = [0, 13, 10, 255, 36, 42]
        let stream = Array("$6\r\n".utf8) + payload + Array("\r\n".utf8)
        let run = try CodecVerifier<RESPCodec>().verify(stream) { $0 }
        #expect(run.messages == [.bulkString(ByteBuffer(payload))])
    }

    @Test("commands are arrays of bulk strings")
    func encode() {
        var codec = RESPCodec()
        var context = CodecContext(maxPackageSize: 1024)
        var buffer = ByteBuffer()
        codec.encode(RedisCommand("SET", "key", RedisArgument([0, 1]), 5), into: &buffer, &context)
        #expect(buffer.bytes == Array("*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$2\r\n".utf8) + [0, 1] + Array("\r\n$1\r\n5\r\n".utf8))
    }

    static let bad: [String] = [
        "?x\r\n", ":\r\n", ":12a\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n", "+OK\rX", "+O\nK\r\n",
        "$99999999999\r\n", "*99999999\r\n", ":99999999999999999999999\r\n",
    ]

    @Test("malformed streams are rejected, never trapped on", arguments: bad)
    func malformed(text: String) {
        let run = CodecVerifier<RESPCodec>(maxPackageSize: 1 << 20).run(Array(text.utf8), split: .whole)
        #expect(run.closed, "\(text.debugDescription)")
    }

    @Test("nesting and line length are bounded")
    func bounds() {
        let deep = String(repeating: "*1\r\n", count: 100) + ":1\r\n"
        #expect(CodecVerifier<RESPCodec>().run(Array(deep.utf8), split: .whole).closed)
        let long = "+" + String(repeating: "x", count: 70_000)
        #expect(CodecVerifier<RESPCodec>().run(Array(long.utf8), split: .whole).closed)
    }

    @Test("random bytes never trap")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("+-:$*\r\n0123456789-abc".utf8)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...60, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            _ = CodecVerifier<RESPCodec>(maxPackageSize: 4096).run(bytes, split: .byteByByte)
        }
    }
}
