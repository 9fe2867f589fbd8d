import Testing
import WorkermanHTTPClient
import WorkermanTransport

@Suite("HTTP response parser (no sockets): framing, strictness, limits")
struct HTTPResponseParserTests {
    /// Parses `text` as the response to one request, whole and byte by byte; both must agree.
    func parse(_ text: String, head: Bool = false, close: Bool = false, limits: HTTPResponseParser.Limits = .init()) -> HTTPParserReplay.Outcome {
        let bytes = Array(text.utf8)
        let settings: UInt8 = (head ? 1 : 0) | (close ? 4 : 0)
        var whole = HTTPParserReplay.run(bytes, settings: settings, chunk: max(1, bytes.count))
        let dripped = HTTPParserReplay.run(bytes, settings: settings, chunk: 1)
        if limits.maxBodySize == HTTPResponseParser.Limits().maxBodySize { #expect(whole == dripped) } else { whole = dripped }
        return whole
    }

    @Test("Content-Length, chunked with extensions and trailers, close-delimited, HEAD, 1xx, 204/304")
    func framing() {
        let fixed = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        #expect(fixed.body == Array("hello".utf8) && fixed.ends == [true] && fixed.error == nil)
        let chunked = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n0123456789\r\n0\r\nX: y\r\n\r\n")
        #expect(chunked.body == Array("hello0123456789".utf8) && chunked.ends == [true])
        let closing = parse("HTTP/1.0 200 OK\r\n\r\nto the end", close: true)
        #expect(closing.body == Array("to the end".utf8) && closing.ends == [false])
        let head = parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head: true)
        #expect(head.body.isEmpty && head.ends == [true])
        let interim = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        #expect(interim.heads.map(\.status) == [204] && interim.ends == [true])
        let closeHeader = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(closeHeader.ends == [false])
    }

    @Test("smuggling shapes and malformed heads are refused")
    func refused() {
        let cases = [
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
            "HTTP/2.0 200 OK\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        ]
        for text in cases {
            #expect(parse(text).error != nil, "\(text.debugDescription)")
        }
        // More body than announced: after the end, the extra bytes are an error (the connection closes).
        var longer = HTTPResponseParser()
        longer.expectResponse(toHEAD: false)
        longer.feed(ByteBuffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"))
        #expect(throws: HTTPClientError.self) { while try longer.next() != nil {} }
        // 2^64 as a chunk size: refused without overflow.
        let huge = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n")
        #expect(huge.error != nil)
    }

    @Test("the head and body limits hold")
    func limits() {
        var parser = HTTPResponseParser(limits: { var limits = HTTPResponseParser.Limits(); limits.maxHeadSize = 100; limits.maxBodySize = 10; return limits }())
        parser.expectResponse(toHEAD: false)
        parser.feed(ByteBuffer("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 200)))
        #expect(throws: HTTPClientError.self) { _ = try parser.next() }
        var body = HTTPResponseParser(limits: { var limits = HTTPResponseParser.Limits(); limits.maxBodySize = 10; return limits }())
        body.expectResponse(toHEAD: false)
        body.feed(ByteBuffer("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"))
        #expect(throws: HTTPClientError.self) { while try body.next() != nil {} }
        // A closed connection mid-body is an error, not a short success.
        var cut = HTTPResponseParser()
        cut.expectResponse(toHEAD: false)
        cut.feed(ByteBuffer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
        while (try? cut.next()) ?? nil != nil {}
        #expect(throws: HTTPClientError.self) { _ = try cut.finish() }
    }
}
