import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

/// The parser's fast paths (a whole request line or field line at once) must decide exactly as the byte
/// state machine does. A verifier run compares the two: the whole input takes the fast paths, one byte
/// per read takes the state machine alone. Here on heads with one byte changed, removed or repeated at
/// every position, which walks each fast-path check across its accept/refuse boundary.
@Suite("HTTP parser fast paths agree with the state machine")
struct HTTPParserAtOnceTests {
    static let heads: [String] = [
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "POST /form?x=1 HTTP/1.0\r\nHost: a:80\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab:\tv \t\r\n\r\n",
        "GET http://h/p HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: v\r\n\r\n",
    ]

    /// The bytes a mutation may put in: delimiters, whitespace, controls, a high byte and a token char.
    static let replacements: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x2F, 0x3A, 0x7F, 0x80, 0x2E, 0x31, 0x32, 0x61]

    @Test("every one-byte change, deletion and repetition", arguments: heads)
    func mutations(_ head: String) throws {
        let original = Array(head.utf8)
        var configuration = HTTPServerConfiguration()
        configuration.allowedMethods = [.get, .post, .options]
        let verifier = httpVerifier(configuration: configuration)
        let splits: [ReadSplit] = [.whole, .byteByByte]
        _ = try verifier.verify(original, splits: splits)
        for index in original.indices {
            for byte in Self.replacements where byte != original[index] {
                var changed = original
                changed[index] = byte
                _ = try verifier.verify(changed, splits: splits)
            }
            var removed = original
            removed.remove(at: index)
            _ = try verifier.verify(removed, splits: splits)
            var repeated = original
            repeated.insert(original[index], at: index)
            _ = try verifier.verify(repeated, splits: splits)
        }
    }

    @Test("random heads with random bytes", arguments: [1, 2, 3] as [UInt64])
    func random(_ seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let verifier = httpVerifier()
        let alphabet = Array("GETPOST /?=&:.1HTTP/1.0\r\n\t Host: a-b\u{7F}".utf8) + [0x00, 0xC3]
        for _ in 0..<300 {
            var input = Array(Self.heads.randomElement(using: &generator)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<input.count, using: &generator)
                input[index] = alphabet.randomElement(using: &generator)!
            }
            _ = try verifier.verify(input, splits: [.whole, .byteByByte])
        }
    }
}
