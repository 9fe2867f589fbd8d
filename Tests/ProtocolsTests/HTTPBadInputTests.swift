import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

/// Request smuggling attempts and malformed requests: each gets its status and a close, in every split,
/// and nothing after it is ever answered.
@Suite("HTTPServerCodec: smuggling and malformed requests")
struct HTTPBadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var status: Int
        /// Requests that must come out before the refusal.
        var before = 0

        var testDescription: String { name }
    }

    static let smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"

    static let cases: [Case] = [
        // Framing conflicts (RFC 9112 §6.1, §6.3).
        Case(
            name: "CL + TE",
            input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 400
        ),
        Case(
            name: "TE + CL",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
            status: 400
        ),
        Case(
            name: "two differing CL",
            input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            status: 400
        ),
        Case(name: "CL list", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", status: 400),
        Case(name: "signed CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", status: 400),
        Case(name: "negative CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", status: 400),
        Case(name: "hex CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", status: 400),
        Case(name: "empty CL", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", status: 400),
        Case(
            name: "TE identity",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
            status: 400
        ),
        Case(name: "TE gzip only", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400),
        Case(
            name: "TE gzip, chunked",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            status: 501
        ),
        Case(
            name: "TE chunked, chunked",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            status: 400
        ),
        Case(
            name: "TE chunked then gzip",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
            status: 400
        ),
        Case(
            name: "TE xchunked",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
            status: 400
        ),
        Case(
            name: "TE chunked with a space inside",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunk ed\r\n\r\n",
            status: 400
        ),
        Case(name: "TE empty", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", status: 400),
        Case(
            name: "TE in HTTP/1.0",
            input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 400
        ),
        Case(
            name: "TE with vertical tab",
            input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\u{0B}chunked\r\n\r\n",
            status: 400
        ),
        // Header syntax (RFC 9112 §5).
        Case(name: "space before colon", input: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n", status: 400),
        Case(name: "tab before colon", input: "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", status: 400),
        Case(name: "space in header name", input: "GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n", status: 400),
        Case(name: "obs-fold", input: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", status: 400),
        Case(name: "obs-fold with tab", input: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", status: 400),
        Case(name: "whitespace before first header", input: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", status: 400),
        Case(name: "empty header name", input: "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", status: 400),
        Case(name: "no colon", input: "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", status: 400),
        Case(name: "NUL in header value", input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", status: 400),
        Case(name: "NUL in header name", input: "GET / HTTP/1.1\r\nHost: a\r\nX\u{0}Y: 1\r\n\r\n", status: 400),
        Case(name: "DEL in header value", input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}\r\n\r\n", status: 400),
        Case(name: "bare CR in header value", input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", status: 400),
        // Line endings (RFC 9112 §2.2: bare CR is invalid; we also refuse bare LF).
        Case(name: "bare LF after request line", input: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: 400),
        Case(name: "bare LF between headers", input: "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", status: 400),
        Case(name: "bare LF ending the head", input: "GET / HTTP/1.1\r\nHost: a\r\n\n", status: 400),
        Case(name: "bare LF before request", input: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "CR CR", input: "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", status: 400),
        // Request line (RFC 9112 §3).
        Case(name: "two spaces after method", input: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "space in target", input: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "tab as separator", input: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "NUL in target", input: "GET /a\u{0} HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "lower-case version", input: "GET / http/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "trailing space after version", input: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: 400),
        Case(name: "no version", input: "GET /\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "relative target", input: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "asterisk with GET", input: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "invalid method char", input: "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "binary garbage (TLS hello)", input: "\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}", status: 400),
        Case(name: "HTTP/2 preface", input: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 501),
        // Host (RFC 9112 §3.2).
        Case(name: "missing Host in 1.1", input: "GET / HTTP/1.1\r\n\r\n", status: 400),
        Case(name: "two Hosts", input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
        Case(name: "two Hosts in 1.0", input: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "Host with a path", input: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400),
        Case(name: "Host with user info", input: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", status: 400),
        Case(name: "Host with bad port", input: "GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", status: 400),
        Case(name: "Host with a space", input: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400),
        // Chunked bodies (RFC 9112 §7.1).
        Case(name: "chunk size not hex", input: chunked("g\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "chunk size missing", input: chunked("\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "chunk size with 0x", input: chunked("0x3\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "negative chunk size", input: chunked("-3\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "space after chunk size", input: chunked("3 \r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "chunk size overflow", input: chunked("10000000000000003\r\nabc\r\n0\r\n\r\n"), status: 413),
        Case(name: "chunk size 64-bit wrap", input: chunked("ffffffffffffffff\r\nabc\r\n0\r\n\r\n"), status: 413),
        Case(name: "chunk data too long", input: chunked("3\r\nabcd\r\n0\r\n\r\n"), status: 400),
        Case(name: "chunk data LF only", input: chunked("3\r\nabc\n0\r\n\r\n"), status: 400),
        Case(name: "chunk size LF only", input: chunked("3\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "missing last chunk", input: chunked("3\r\nabc\r\n\r\n"), status: 400),
        Case(name: "empty chunk extension", input: chunked("3;\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "unterminated quoted extension", input: chunked("3;a=\"b\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "NUL in chunk extension", input: chunked("3;a\u{0}\r\nabc\r\n0\r\n\r\n"), status: 400),
        Case(name: "obs-fold in trailer", input: chunked("0\r\nT: 1\r\n 2\r\n\r\n"), status: 400),
        Case(name: "bad trailer name", input: chunked("0\r\nT @: 1\r\n\r\n"), status: 400),
        // A valid request first, then the bad one: the first is answered, nothing after the refusal.
        Case(
            name: "good then CL+TE",
            input:
                "GET /ok HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 400,
            before: 1
        ),
    ]

    static func chunked(_ body: String) -> String {
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    }

    @Test("refused with its status, a close, and nothing smuggled after it", arguments: cases)
    func refused(_ testCase: Case) throws {
        let run = try httpVerifier().verify(bytes(testCase.input + Self.smuggled))
        #expect(run.messages.count == testCase.before)
        #expect(run.rejection?.code == testCase.status, "\(String(describing: run.closeReason))")
        #expect(!run.outputText.contains("smuggled"))
        let answer =
            "HTTP/1.1 \(testCase.status) \(HTTPStatus.standardReason(testCase.status)!)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        #expect(run.outputText.hasSuffix(answer))
    }

    @Test("the classic CL.TE desync: the hidden request is the refused request's body, never a request")
    func clTeDesync() throws {
        let attack =
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            + Self.smuggled
        let run = try httpVerifier().verify(bytes(attack))
        #expect(run.messages.isEmpty)
        #expect(run.rejection?.code == 400)
    }

    @Test("a body is read by its length, so request-looking bytes in it are data")
    func bodyIsData() throws {
        let body = Self.smuggled
        let request = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        let run = try httpVerifier().verify(bytes(request))
        #expect(run.messages.map(\.path) == ["/upload"])
        #expect(run.messages.first?.bodyString == body)
    }

    @Test("identical repeated Content-Length values are accepted (RFC 9110 §8.6)")
    func identicalContentLengths() throws {
        let run = try httpVerifier().verify(
            bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 003\r\n\r\nabc")
        )
        #expect(run.messages.first?.bodyString == "abc")
    }

    @Test("whitespace around field values is trimmed, inside it is kept")
    func valueWhitespace() throws {
        let run = try httpVerifier().verify(bytes("GET / HTTP/1.1\r\nHost: a\r\nX: \t a  b \t\r\nY:\r\nZ:   \r\n\r\n"))
        let request = try #require(run.messages.first)
        #expect(request.header("x") == "a  b")
        #expect(request.header("y") == "")
        #expect(request.header("z") == "")
    }

    @Test("obs-text (bytes ≥ 0x80) is allowed in values and targets")
    func obsText() throws {
        let run = try httpVerifier().verify(latin1("GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\nX: D\u{FC}sseldorf\r\n\r\n"))
        #expect(run.messages.count == 1)
    }
}
