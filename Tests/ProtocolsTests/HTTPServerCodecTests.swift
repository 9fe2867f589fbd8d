import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@Suite("HTTPServerCodec: requests, pipelining, keep-alive")
struct HTTPServerCodecTests {
    @Test("a simple GET decodes in every split and is answered with Workerman's default response")
    func simpleGet() throws {
        let run = try httpVerifier(respond: { _ in [.response(HTTPResponse(body: "Hello World"))] })
            .verify(bytes("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"))
        #expect(run.messages.count == 1)
        let request = try #require(run.messages.first)
        #expect(request.method == .get)
        #expect(request.target == "/")
        #expect(request.version == .http1_1)
        #expect(request.keepAlive)
        #expect(request.host == "127.0.0.1:8080")
        #expect(
            run.outputText
                == "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 11\r\n\r\nHello World"
        )
        #expect(!run.closed)
    }

    @Test("pipelined requests come out one message each, in order, answered in order")
    func pipelining() throws {
        var stream = ""
        for index in 0..<16 { stream += "GET /\(index) HTTP/1.1\r\nHost: a\r\n\r\n" }
        stream += "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        stream += "PUT /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        stream += "DELETE /last HTTP/1.1\r\nHost: a\r\n\r\n"
        let run = try httpVerifier().verify(bytes(stream))
        #expect(run.messages.map(\.path) == (0..<16).map { "/\($0)" } + ["/form", "/chunked", "/last"])
        #expect(run.messages[16].bodyString == "hello")
        #expect(run.messages[17].bodyString == "abc")
        #expect(
            responseBodies(run.output) == (0..<16).map { "GET /\($0)" } + [
                "POST /form", "PUT /chunked", "DELETE /last",
            ]
        )
        #expect(!run.closed)
    }

    @Test("an empty line before a request is ignored; CRLF after a body is too")
    func leadingEmptyLines() throws {
        let stream =
            "\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n"
        let run = try httpVerifier().verify(bytes(stream))
        #expect(run.messages.map(\.path) == ["/a", "/b", "/c"])
    }

    // MARK: - Keep-alive and close

    @Test(
        "keep-alive decisions for HTTP/1.0 and HTTP/1.1",
        arguments: [
            ("HTTP/1.1", "", true),
            ("HTTP/1.1", "Connection: close\r\n", false),
            ("HTTP/1.1", "Connection: keep-alive\r\n", true),
            ("HTTP/1.1", "Connection: Upgrade, CLOSE\r\n", false),
            ("HTTP/1.0", "", false),
            ("HTTP/1.0", "Connection: keep-alive\r\n", true),
            ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
            ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
        ]
    )
    func keepAlive(version: String, header: String, expected: Bool) throws {
        let run = try httpVerifier().verify(bytes("GET / \(version)\r\nHost: a\r\n\(header)\r\n"))
        #expect(run.messages.first?.keepAlive == expected)
        #expect(run.outputText.contains(expected ? "Connection: keep-alive\r\n" : "Connection: close\r\n"))
        #expect(run.closed == !expected)
        if !expected { #expect(run.closeReason == .closeRequested) }
    }

    @Test("after a request that asked to close, pipelined requests are dropped unanswered")
    func noRequestAfterClose() throws {
        let stream =
            "GET /first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        let run = try httpVerifier().verify(bytes(stream))
        #expect(run.messages.map(\.path) == ["/first"])
        #expect(!run.outputText.contains("smuggled"))
        #expect(run.closeReason == .closeRequested)

        // Even when the application answers later: the codec discards what follows.
        let silent = try httpVerifier(respond: nil).verify(bytes(stream))
        #expect(silent.messages.map(\.path) == ["/first"])
        #expect(silent.unprocessedBytes == 0)
        #expect(!silent.closed)
    }

    @Test("a response saying Connection: close closes after it")
    func responseClose() {
        let (text, closes) = encode(
            .response(HTTPResponse(headers: ["Connection": "close"], body: "bye")),
            after: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        #expect(closes)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nConnection: close\r\n"))
    }

    @Test("responses to pipelined requests each follow their own request's keep-alive")
    func pipelinedKeepAliveOrder() throws {
        var codec = HTTPServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        var stream = ByteBuffer(
            "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.0\r\n\r\n"
        )
        var requests: [HTTPRequest] = []
        while !stream.isEmpty {
            let decision = stream.withReadableBytes { codec.input($0, &context) }
            guard case .message(let length) = decision else { Issue.record("unexpected \(decision)"); return }
            let request = try stream.withReadableBytes { bytes throws(CodecRejection) in
                try codec.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), &context)
            }
            requests.append(try #require(request))
            stream.consume(length)
        }
        #expect(codec.unansweredRequests == 3)
        var outputs: [(String, Bool)] = []
        for _ in requests {
            var buffer = ByteBuffer()
            context.closeRequested = false
            codec.encode(.response(HTTPResponse(body: "body")), into: &buffer, &context)
            outputs.append((buffer.string, context.closeRequested))
        }
        #expect(outputs[0].0.hasSuffix("Content-Length: 4\r\n\r\nbody") && !outputs[0].1)
        // HEAD: the length of the body it would have had, but no body.
        #expect(outputs[1].0.hasSuffix("Content-Length: 4\r\n\r\n") && !outputs[1].1)
        #expect(outputs[2].0.contains("Connection: close\r\n") && outputs[2].1)
        #expect(codec.unansweredRequests == 0)
    }

    // MARK: - 100-continue

    @Test("Expect: 100-continue is answered before the body, once, in every split")
    func expectContinue() throws {
        let stream = "POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody"
        let run = try httpVerifier().verify(bytes(stream))
        #expect(run.messages.first?.bodyString == "body")
        #expect(run.outputText.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"))
    }

    @Test("100-continue with a chunked body is answered when the head is in")
    func expectContinueChunked() throws {
        let head = "POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n"
        let run = try httpVerifier(respond: nil).verify(bytes(head))
        #expect(run.messages.isEmpty)
        #expect(run.outputText == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    @Test("no 100 Continue without a body, for HTTP/1.0, or when the body is too large")
    func noContinue() throws {
        let withoutBody = try httpVerifier(respond: nil).verify(
            bytes("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")
        )
        #expect(withoutBody.outputText.isEmpty)
        let http10 = try httpVerifier(respond: nil).verify(
            bytes("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
        )
        #expect(http10.outputText.isEmpty)
        let tooLarge = try httpVerifier(maxPackageSize: 1000, respond: nil).verify(
            bytes("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
        )
        #expect(tooLarge.outputText.hasPrefix("HTTP/1.1 413 "))
        #expect(tooLarge.rejection?.code == 413)
    }

    @Test("an expectation other than 100-continue is answered 417")
    func unknownExpectation() throws {
        let run = try httpVerifier().verify(bytes("GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n"))
        #expect(run.rejection?.code == 417)
        #expect(run.outputText.hasPrefix("HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\n"))
    }

    // MARK: - Limits

    @Test("a header section over 16 KiB is answered 431 at the same byte in every split")
    func headerTooLarge() throws {
        let stream = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 17_000) + "\r\n\r\n"
        let run = try httpVerifier().verify(
            bytes(stream),
            splits: [.byteByByte, .chunks(of: 1000), .random(seed: 5, maxChunk: 4096)]
        )
        #expect(run.rejection?.code == 431)
        #expect(
            run.outputText
                == "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        #expect(run.messages.isEmpty)
    }

    @Test("a head of exactly maxHeaderSize bytes is accepted")
    func headerAtLimit() throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderSize = 64
        let prefix = "GET / HTTP/1.1\r\nHost: a\r\nX: "
        let head = prefix + String(repeating: "v", count: 64 - prefix.utf8.count - 4) + "\r\n\r\n"
        #expect(head.utf8.count == 64)
        let run = try httpVerifier(configuration: configuration).verify(bytes(head))
        #expect(run.messages.count == 1)
        let over = try httpVerifier(configuration: configuration).verify(
            bytes("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 33) + "\r\n\r\n")
        )
        #expect(over.rejection?.code == 431)
    }

    @Test("a long request-target is answered 414")
    func uriTooLong() throws {
        let run = try httpVerifier().verify(
            bytes("GET /" + String(repeating: "p", count: 20_000) + " HTTP/1.1\r\n"),
            splits: [.chunks(of: 999)]
        )
        #expect(run.rejection?.code == 414)
    }

    @Test("too many header fields are answered 431")
    func tooManyHeaders() throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderCount = 3
        let run = try httpVerifier(configuration: configuration).verify(
            bytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
        )
        #expect(run.rejection?.code == 431)
        #expect(run.rejection?.reason == "too many header fields")
    }

    @Test("a Content-Length over maxPackageSize is answered 413 before the body arrives")
    func bodyTooLarge() throws {
        let run = try httpVerifier(maxPackageSize: 100).verify(
            bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 200\r\n\r\n")
        )
        #expect(run.rejection?.code == 413)
        #expect(run.outputText.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"))
    }

    @Test("a huge Content-Length is 413, not an overflow")
    func contentLengthOverflow() throws {
        let run = try httpVerifier().verify(
            bytes("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000000000000000\r\n\r\n")
        )
        #expect(run.rejection?.code == 413)
    }

    @Test("a chunked body over maxPackageSize is answered 413")
    func chunkedTooLarge() throws {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let oneBigChunk = try httpVerifier(maxPackageSize: 200).verify(bytes(head + "100\r\n"))
        #expect(oneBigChunk.rejection?.code == 413)
        let manySmall = try httpVerifier(maxPackageSize: 200).verify(
            bytes(head + String(repeating: "8\r\n12345678\r\n", count: 20))
        )
        #expect(manySmall.rejection?.code == 413)
        let hugeSize = try httpVerifier().verify(bytes(head + "ffffffffffffffffffffffff\r\n"))
        #expect(hugeSize.rejection?.code == 413)
    }

    @Test("a head larger than a small maxPackageSize is 413, the same in every split")
    func headOverPackageSize() throws {
        let run = try httpVerifier(maxPackageSize: 40).verify(
            bytes("GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        )
        #expect(run.rejection?.code == 413)
    }

    // MARK: - Chunked bodies

    @Test("chunked bodies: extensions tolerated, trailers parsed")
    func chunkedBody() throws {
        let stream =
            "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value;flag\r\nhello\r\n6 ; q=\"a \\\"b\\\"\"\r\n world\r\n0\r\nX-Checksum: 42\r\nX-Other:  two \r\n\r\n"
        let run = try httpVerifier().verify(bytes(stream))
        let request = try #require(run.messages.first)
        #expect(request.bodyString == "hello world")
        #expect(request.bodyCount == 11)
        #expect(request.trailers["x-checksum"] == "42")
        #expect(request.trailers["X-Other"] == "two")
        #expect(request.header("Transfer-Encoding") == "chunked")
    }

    @Test("trailer section over the header limit is 431")
    func trailersTooLarge() throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderSize = 100
        let stream =
            "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: "
            + String(repeating: "t", count: 200) + "\r\n\r\n"
        let run = try httpVerifier(configuration: configuration).verify(bytes(stream))
        #expect(run.rejection?.code == 431)
        #expect(run.rejection?.reason == "trailer section too large")
    }

    // MARK: - Methods and versions

    @Test("methods outside the allowed list are answered 501; nil allows any token")
    func methods() throws {
        let run = try httpVerifier().verify(bytes("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(run.rejection?.code == 501)
        var open = HTTPServerConfiguration()
        open.allowedMethods = nil
        let allowed = try httpVerifier(configuration: open).verify(bytes("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(allowed.messages.first?.method == .other("PURGE"))
        #expect(allowed.messages.first?.method == HTTPMethod("PURGE"))
    }

    @Test(
        "HTTP versions",
        arguments: [
            ("HTTP/1.0", 0), ("HTTP/1.1", 0), ("HTTP/1.2", 0), ("HTTP/2.0", 505), ("HTTP/0.9", 505), ("HTTP/1.x", 400),
            ("http/1.1", 400), ("HTTP/11", 400),
        ]
    )
    func versions(version: String, status: Int) throws {
        let run = try httpVerifier().verify(bytes("GET / \(version)\r\nHost: a\r\n\r\n"))
        if status == 0 {
            #expect(run.messages.count == 1)
        } else {
            #expect(run.rejection?.code == status)
        }
    }

    @Test(
        "request-target forms",
        arguments: [
            ("GET /a/b?c=d HTTP/1.1", "/a/b", "c=d"),
            ("GET http://example.com/a?q=1 HTTP/1.1", "/a", "q=1"),
            ("GET http://example.com HTTP/1.1", "/", ""),
            ("GET http://example.com?x=1 HTTP/1.1", "/", "x=1"),
            ("OPTIONS * HTTP/1.1", "*", ""),
            ("GET /p#frag HTTP/1.1", "/p", ""),
            ("GET /p?q=1#frag HTTP/1.1", "/p", "q=1"),
        ]
    )
    func targets(line: String, path: String, query: String) throws {
        let run = try httpVerifier().verify(bytes(line + "\r\nHost: a\r\n\r\n"))
        let request = try #require(run.messages.first)
        #expect(request.path == path)
        #expect(request.queryString == query)
    }

    @Test("HEAD responses carry the length but no body")
    func headResponse() {
        let (text, _) = encode(.response(HTTPResponse(body: "12345")), after: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(
            text
                == "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 5\r\n\r\n"
        )
    }
}
