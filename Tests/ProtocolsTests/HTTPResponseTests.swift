import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@Suite("HTTPResponse: encoding, defaults, cookies, streaming")
struct HTTPResponseTests {
    static let request11 = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

    @Test("HTTPResponse(body: \"Hello World\") is byte-identical to Workerman's send('Hello World')")
    func workermanDefault() {
        let expected =
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 11\r\n\r\nHello World"
        #expect(encode(.response(HTTPResponse(body: "Hello World")), after: Self.request11).bytes == expected)
        #expect(encode("Hello World", after: Self.request11).bytes == expected)
        #expect(
            encode(.response(HTTPResponse(body: ByteBuffer("Hello World"))), after: Self.request11).bytes == expected
        )
        // Without any request seen (an unprompted send) the default is the same.
        #expect(encode("Hello World").bytes == expected)
    }

    @Test("user headers come first in order, then the defaults not set by the user")
    func headerOrder() {
        var response = HTTPResponse(
            status: .created,
            headers: ["X-A": "1", "Content-Type": "application/json"],
            body: "{}"
        )
        response.headers.add("X-A", "2")
        let (text, closes) = encode(.response(response), after: Self.request11)
        #expect(
            text
                == "HTTP/1.1 201 Created\r\nX-A: 1\r\nContent-Type: application/json\r\nX-A: 2\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}"
        )
        #expect(!closes)
    }

    @Test("Date and Server only when configured, Date cached per second")
    func dateAndServer() {
        var configuration = HTTPServerConfiguration()
        configuration.serverName = "workerman"
        configuration.sendsDate = true
        configuration.dateCache = HTTPDateCache(clock: { 784_111_777 })
        let (text, _) = encode("x", after: Self.request11, configuration: configuration)
        #expect(
            text
                == "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: workerman\r\nContent-Length: 1\r\n\r\nx"
        )
        let userSet = encode(
            .response(HTTPResponse(headers: ["Server": "mine"], body: "x")),
            configuration: configuration
        ).bytes
        #expect(userSet.contains("Server: mine\r\n") && !userSet.contains("workerman"))
    }

    @Test("the date cache formats IMF-fixdate and refreshes when the second changes")
    func dateCache() {
        #expect(HTTPDate.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 4_102_444_799) == "Thu, 31 Dec 2099 23:59:59 GMT")
        let cache = HTTPDateCache(clock: { 1_700_000_000 })
        #expect(cache.current == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(HTTPDateCache().current.hasSuffix(" GMT"))
    }

    @Test("custom and unknown statuses; 204 and 304 have no body")
    func statuses() {
        #expect(
            encode(.response(HTTPResponse(status: HTTPStatus(code: 299, reason: "Fine"))), after: Self.request11).bytes
                .hasPrefix("HTTP/1.1 299 Fine\r\n")
        )
        #expect(
            encode(.response(HTTPResponse(status: 599)), after: Self.request11).bytes.hasPrefix("HTTP/1.1 599 \r\n")
        )
        #expect(
            encode(.response(HTTPResponse(status: 418)), after: Self.request11).bytes.hasPrefix(
                "HTTP/1.1 418 I'm a teapot\r\n"
            )
        )
        let noContent = encode(.response(HTTPResponse(status: .noContent, body: "ignored")), after: Self.request11)
            .bytes
        #expect(noContent == "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
        let notModified = encode(
            .response(HTTPResponse(status: .notModified, headers: ["ETag": "\"x\""])),
            after: Self.request11
        ).bytes
        #expect(notModified == "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nConnection: keep-alive\r\n\r\n")
        let injected = encode(
            .response(HTTPResponse(status: HTTPStatus(code: 200, reason: "OK\r\nX: 1"))),
            after: Self.request11
        ).bytes
        #expect(injected.hasPrefix("HTTP/1.1 200 OK\r\nConnection"))
    }

    @Test("header fields that could split the response are left out")
    func unsafeHeaders() {
        let response = HTTPResponse(
            headers: ["X-Ok": "1", "X-Bad": "a\r\nSet-Cookie: evil=1", "Bad Name": "x", "X-Nul": "a\u{0}"],
            body: ""
        )
        let text = encode(.response(response), after: Self.request11).bytes
        #expect(text.contains("X-Ok: 1\r\n"))
        #expect(!text.contains("evil") && !text.contains("Bad Name") && !text.contains("X-Nul"))
    }

    @Test("cookies carry every attribute and values are encoded")
    func cookies() {
        var response = HTTPResponse(body: "")
        response.setCookie(
            SetCookie(
                name: "session",
                value: "a b;c",
                maxAge: 3600,
                expires: 784_111_777,
                path: "/",
                domain: "example.com",
                secure: true,
                httpOnly: true,
                sameSite: .strict
            )
        )
        response.cookie("plain", "v")
        response.cookie("none", "x", sameSite: SetCookie.SameSite.none)
        response.setCookie(SetCookie(name: "bad name", value: "x"))
        response.setCookie(SetCookie(name: "badpath", value: "x", path: "/; Domain=evil"))
        #expect(
            response.headers.values(for: "set-cookie") == [
                "session=a%20b%3Bc; Domain=example.com; Max-Age=3600; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Path=/; Secure; HttpOnly; SameSite=Strict",
                "plain=v",
                "none=x; Secure; SameSite=None",
            ]
        )
    }

    @Test("a cookie set by a response reads back unchanged from a request")
    func cookieRoundTrip() throws {
        let value = "Grüße; \"quoted\" 100% +plus"
        let header = try #require(SetCookie(name: "c", value: value).headerValue)
        let request = HTTPRequest(headers: ["Host": "a", "Cookie": header])
        #expect(request.cookie("c") == value)
    }

    @Test("header helpers: set replaces, add appends, remove removes, all case-insensitive")
    func headerHelpers() {
        var headers: HTTPHeaders = ["A": "1", "b": "2", "a": "3"]
        headers.set("a", "9")
        #expect(headers.fields.map(\.name) == ["a", "b"])
        #expect(headers["A"] == "9")
        headers["B"] = nil
        #expect(headers.count == 1)
        headers.add("Vary", "Accept")
        #expect(headers.contains("vary"))
        let response = HTTPResponse(body: "x").withHeader("X", "1").withHeaders(["Y": "2"]).withoutHeader("x")
            .withStatus(.accepted)
        #expect(response.headers.fields.map(\.name) == ["Y"])
        #expect(response.status == .accepted)
        #expect(HTTPResponse.redirect(to: "/next").headers["location"] == "/next")
    }

    @Test("a chunked response: head, chunks, end; closes at the end when the request asked to")
    func chunked() {
        var codec = HTTPServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        let request = bytes("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        _ = request.withUnsafeBytes { codec.input($0, &context) }
        _ = request.withUnsafeBytes { try? codec.decode($0, &context) }
        var buffer = ByteBuffer()
        codec.encode(.response(.chunked(headers: ["Content-Type": "text/plain"])), into: &buffer, &context)
        #expect(!context.closeRequested)
        codec.encode(.chunk("hello"), into: &buffer, &context)
        codec.encode(.chunk(HTTPChunk(ByteBuffer(Array(repeating: 0x61, count: 26)))), into: &buffer, &context)
        #expect(!context.closeRequested)
        codec.encode(.chunk(HTTPChunk(.empty, trailers: ["X-Sum": "7"])), into: &buffer, &context)
        #expect(context.closeRequested)
        #expect(
            buffer.string
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n1a\r\n"
                + String(repeating: "a", count: 26) + "\r\n0\r\nX-Sum: 7\r\n\r\n"
        )
    }

    /// A codec that has decoded `request`.
    private func codec(after request: String) -> (HTTPServerCodec, CodecContext) {
        var codec = HTTPServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        let raw = bytes(request)
        let decision = raw.withUnsafeBytes { codec.input($0, &context) }
        guard case .message(let length) = decision else { fatalError("not a request: \(decision)") }
        _ = raw.withUnsafeBytes { try? codec.decode(UnsafeRawBufferPointer(rebasing: $0[0..<length]), &context) }
        return (codec, context)
    }

    @Test("a chunked response to HTTP/1.0 goes out unframed and ends by closing")
    func chunkedToHTTP10() {
        var (codec, context) = codec(after: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        var buffer = ByteBuffer()
        codec.encode(.response(HTTPResponse.chunked(headers: ["Content-Type": "text/plain"])), into: &buffer, &context)
        codec.encode(.chunk("one "), into: &buffer, &context)
        #expect(!context.closeRequested)
        codec.encode(.chunk("two"), into: &buffer, &context)
        codec.encode(.chunk(.end), into: &buffer, &context)
        #expect(context.closeRequested)
        #expect(buffer.string == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\none two")
    }

    @Test("a chunked response to HEAD sends the head only; the chunks are dropped")
    func chunkedToHead() {
        var (codec, context) = codec(after: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        var buffer = ByteBuffer()
        codec.encode(.response(.chunked()), into: &buffer, &context)
        codec.encode(.chunk("dropped"), into: &buffer, &context)
        codec.encode(.chunk(.end), into: &buffer, &context)
        #expect(
            buffer.string.hasSuffix(
                "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n\r\n"
            )
        )
        #expect(!context.closeRequested)
    }

    @Test("a chunked response's body goes out as the first chunk")
    func chunkedWithBody() {
        let text = encode(.response(HTTPResponse.chunked().withBody("first")), after: Self.request11).bytes
        #expect(
            text.hasSuffix(
                "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n\r\n5\r\nfirst\r\n"
            )
        )
    }

    @Test("server-sent events: the head, then events in the text/event-stream format")
    func serverSentEvents() {
        var codec = HTTPServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        let request = bytes(Self.request11)
        _ = request.withUnsafeBytes { codec.input($0, &context) }
        _ = request.withUnsafeBytes { try? codec.decode($0, &context) }
        var buffer = ByteBuffer()
        codec.encode(.response(.eventStream()), into: &buffer, &context)
        #expect(
            buffer.string
                == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n"
        )
        buffer.clear()
        codec.encode(
            .event(
                ServerSentEvent(
                    comment: "hi\nthere",
                    event: "tick\r\n",
                    id: "7",
                    retry: 1000,
                    data: "line 1\nline 2\r\nline 3"
                )
            ),
            into: &buffer,
            &context
        )
        #expect(
            buffer.string
                == ": hi\n: there\nevent: tick \nid: 7\nretry: 1000\ndata: line 1\ndata: line 2\ndata: line 3\n\n"
        )
        #expect(ServerSentEvent(data: "").serialized == "data: \n\n")
        #expect(!context.closeRequested)
    }

    @Test("101 Switching Protocols gets no defaults and does not close")
    func switchingProtocols() {
        let response = HTTPResponse(
            status: .switchingProtocols,
            headers: ["Upgrade": "websocket", "Connection": "Upgrade"]
        )
        let (text, closes) = encode(.response(response), after: Self.request11)
        #expect(text == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        #expect(!closes)
    }

    @Test("an interim 103 does not answer the request: the final response still gets its keep-alive")
    func interim() {
        var codec = HTTPServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 20)
        let request = bytes("GET / HTTP/1.0\r\n\r\n")
        _ = request.withUnsafeBytes { codec.input($0, &context) }
        _ = request.withUnsafeBytes { try? codec.decode($0, &context) }
        var buffer = ByteBuffer()
        codec.encode(
            .response(HTTPResponse(status: 103, headers: ["Link": "</a.css>; rel=preload"])),
            into: &buffer,
            &context
        )
        #expect(buffer.string == "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        #expect(!context.closeRequested && codec.unansweredRequests == 1)
        codec.encode("done", into: &buffer, &context)
        #expect(context.closeRequested && codec.unansweredRequests == 0)
    }

    @Test("the encoder writes numbers correctly at the edges")
    func lengths() {
        for size in [0, 1, 9, 10, 99, 100, 65_535, 65_536, 1_000_000] {
            let text = encode(
                .response(HTTPResponse(body: ByteBuffer(Array(repeating: 0x20, count: size)))),
                after: Self.request11
            ).bytes
            #expect(text.contains("Content-Length: \(size)\r\n\r\n"))
        }
        var buffer = ByteBuffer()
        HTTPChunk(ByteBuffer(Array(repeating: 0, count: 4096))).write(into: &buffer)
        #expect(buffer.string.hasPrefix("1000\r\n"))
    }
}
