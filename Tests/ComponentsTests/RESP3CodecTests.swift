import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanComponents

@Suite("RESP3 codec: every type, every read split, and what the typed decoders make of them")
struct RESP3CodecTests {
    @Test("maps, sets, doubles, big numbers, booleans, nulls, verbatim strings, attributes, pushes, blob errors")
    func replies() throws {
        let stream = Array(
            ("%2\r\n+a\r\n:1\r\n$1\r\nb\r\n,2.5\r\n" + "~2\r\n+x\r\n+y\r\n" + ",3.25\r\n,-1e-3\r\n,inf\r\n,-inf\r\n,nan\r\n"
                + "(3492890328409238509324850943850943825024385\r\n(-12\r\n" + "#t\r\n#f\r\n_\r\n"
                + "=15\r\ntxt:Some string\r\n" + "|1\r\n+key-popularity\r\n%1\r\n$1\r\nk\r\n,0.19\r\n:7\r\n"
                + ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n" + "!21\r\nSYNTAX invalid syntax\r\n").utf8
        )
        let run = try CodecVerifier<RESPCodec>().verify(stream) { $0 }
        #expect(
            run.messages == [
                .map([RESPPair(key: .simpleString("a"), value: .integer(1)), RESPPair(key: .bulkString("b"), value: .double(2.5))]),
                .set([.simpleString("x"), .simpleString("y")]),
                .double(3.25), .double(-0.001), .double(.infinity), .double(-.infinity), .double(.nan),
                .bigNumber("3492890328409238509324850943850943825024385"), .bigNumber("-12"),
                .boolean(true), .boolean(false), .null,
                .verbatimString(format: "txt", text: "Some string"),
                .attribute(
                    [RESPPair(key: .simpleString("key-popularity"), value: .map([RESPPair(key: .bulkString("k"), value: .double(0.19))]))],
                    value: .integer(7)
                ),
                .push([.bulkString("message"), .bulkString("news"), .bulkString("hi")]),
                .error("SYNTAX invalid syntax"),
            ]
        )
        #expect(!run.closed)
    }

    @Test("the typed decoders read RESP3 forms as they read RESP2's")
    func decoders() throws {
        #expect(try [String: String](fromRESP: .map([RESPPair(key: .bulkString("f"), value: .bulkString("v"))])) == ["f": "v"])
        #expect(try [String](fromRESP: .set([.bulkString("a")])) == ["a"])
        #expect(try Double(fromRESP: .double(1.5)) == 1.5)
        #expect(try Bool(fromRESP: .boolean(true)) && !(try Bool(fromRESP: .boolean(false))))
        #expect(try String(fromRESP: .verbatimString(format: "txt", text: "hi")) == "hi")
        #expect(try Int(fromRESP: .attribute([], value: .integer(3))) == 3, "attributes are read through")
        #expect(try String?(fromRESP: .attribute([], value: .null)) == nil)
        #expect(throws: RedisError.self) { try Int(fromRESP: .map([])) }
        #expect(RedisClient.helloFields(.map([
            RESPPair(key: .bulkString("server"), value: .bulkString("redis")), RESPPair(key: .bulkString("proto"), value: .integer(3)),
            RESPPair(key: .bulkString("modules"), value: .array([])),
        ])) == ["server": "redis", "proto": "3"])
    }

    static let bad: [String] = [
        "_x\r\n", "#x\r\n", "#tt\r\n", ",\r\n", ",1.5x\r\n", ",0x1p3\r\n", ",infinity\r\n", "(\r\n", "(-\r\n", "(12a\r\n",
        "%-1\r\n", "~-1\r\n", ">-1\r\n", "|-1\r\n", "!-1\r\n", "=3\r\ntxt\r\n", "=5\r\ntxtxx\r\n", "$?\r\n", "*?\r\n",
        "%1\r\n+k\r\n?\r\n",
    ]

    @Test("malformed RESP3 is rejected with a reason, never trapped on", arguments: bad)
    func malformed(text: String) {
        let run = CodecVerifier<RESPCodec>(maxPackageSize: 1 << 20).run(Array(text.utf8), split: .whole)
        #expect(run.closed, "\(text.debugDescription)")
    }

    @Test("maps and attributes are bounded like arrays: nesting, element counts")
    func bounds() {
        let deep = String(repeating: "%1\r\n+k\r\n", count: 40) + ":1\r\n"
        #expect(CodecVerifier<RESPCodec>().run(Array(deep.utf8), split: .whole).closed)
        #expect(CodecVerifier<RESPCodec>().run(Array("%9999999\r\n".utf8), split: .whole).closed)
    }
}
