import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@Suite("HTTPRequest: headers, query, cookies, forms, JSON")
struct HTTPRequestTests {
    /// Decodes `text` (one request) in every split.
    private func request(_ text: String) throws -> HTTPRequest {
        let run = try httpVerifier(respond: nil).verify(bytes(text))
        return try #require(run.messages.first)
    }

    @Test("header lookup is case-insensitive; repeated headers are kept in order")
    func headers() throws {
        let request = try request(
            "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\nX-Tag: one\r\nx-tag: two\r\nX-TAG: three\r\n\r\n"
        )
        #expect(request.header("ACCEPT") == "text/html")
        #expect(request.header("x-tag") == "one")
        #expect(request.headers(named: "X-Tag") == ["one", "two", "three"])
        #expect(request.header("missing") == nil)
        #expect(request.headers.count == 5)
        #expect(request.headers.values(for: "x-TAG") == ["one", "two", "three"])
        #expect(request.host == "example.com")
        #expect(request.rawHead.hasPrefix("GET / HTTP/1.1\r\nHost: example.com\r\n"))
    }

    @Test(
        "query decoding: percent escapes and + as space",
        arguments: [
            ("a=1&b=two+words", "b", "two words"),
            ("q=caf%C3%A9", "q", "café"),
            ("q=100%25", "q", "100%"),
            ("q=a%2Bb", "q", "a+b"),
            ("q=%zz", "q", "%zz"),
            ("q=%4", "q", "%4"),
            ("flag", "flag", ""),
            ("=nameless&x=1", "x", "1"),
            ("a=1&&b=2", "b", "2"),
            ("k%20ey=v", "k ey", "v"),
            ("q=%FF", "q", "\u{FFFD}"),
        ]
    )
    func query(query: String, name: String, value: String) throws {
        let request = try request("GET /search?\(query) HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(request.queryString == query)
        #expect(request.query[name] == value)
    }

    @Test("repeated query names keep every value; the dictionary takes the last, as PHP does")
    func repeatedQuery() throws {
        let request = try request("GET /?tag=a&tag=b&x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(request.query.values(for: "tag") == ["a", "b"])
        #expect(request.query["tag"] == "a")
        #expect(request.query.dictionary == ["tag": "b", "x": "1"])
        #expect(request.query.map(\.name) == ["tag", "tag", "x"])
    }

    @Test("the path stays encoded; PercentDecoding decodes it")
    func path() throws {
        let request = try request("GET /a%20b/c+d?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(request.path == "/a%20b/c+d")
        #expect(PercentDecoding.decode(request.path) == "/a b/c+d")
    }

    @Test("cookies: pairs, quotes, percent-decoding, several Cookie headers, first wins")
    func cookies() throws {
        let request = try request(
            "GET / HTTP/1.1\r\nHost: a\r\nCookie: session=abc123; theme=\"dark\"; name=J%C3%B6rg; plus=a+b\r\nCookie: extra=1; session=other\r\n\r\n"
        )
        #expect(request.cookies == ["session": "abc123", "theme": "dark", "name": "Jörg", "plus": "a+b", "extra": "1"])
        #expect(request.cookie("session") == "abc123")
        #expect(request.cookie("none") == nil)
    }

    @Test("malformed cookie pairs are skipped")
    func malformedCookies() throws {
        let request = try request("GET / HTTP/1.1\r\nHost: a\r\nCookie: ;; =x; novalue; ok=1;\r\n\r\n")
        #expect(request.cookies == ["ok": "1"])
    }

    @Test("an urlencoded form body")
    func form() throws {
        let body = "user=ann+lee&email=ann%40example.com&tags=a&tags=b"
        let request = try request(
            "POST /f HTTP/1.1\r\nHost: a\r\nContent-Type: Application/X-WWW-Form-Urlencoded; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        #expect(request.mediaType == "application/x-www-form-urlencoded")
        #expect(request.form["user"] == "ann lee")
        #expect(request.form["email"] == "ann@example.com")
        #expect(request.form.values(for: "tags") == ["a", "b"])
    }

    @Test("the form is empty for other content types")
    func formOtherType() throws {
        let request = try request(
            "POST /f HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\na=1"
        )
        #expect(request.form.isEmpty)
        #expect(request.bodyString == "a=1")
    }

    @Test("a JSON body, typed and untyped")
    func json() throws {
        struct Order: Decodable, Equatable {
            var item: String
            var quantity: Int
        }
        let body = #"{"item":"tea","quantity":2,"tags":["hot",null],"ok":true}"#
        let request = try request(
            "POST /o HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        #expect(try request.decodeJSON(Order.self) == Order(item: "tea", quantity: 2))
        let value = try request.json()
        #expect(value["item"]?.stringValue == "tea")
        #expect(value["quantity"]?.doubleValue == 2)
        #expect(value["tags"]?[0] == .string("hot"))
        #expect(value["tags"]?[1] == .null)
        #expect(value["ok"]?.boolValue == true)
    }

    @Test("invalid JSON throws instead of crashing")
    func invalidJSON() throws {
        let request = try request("POST /o HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n{nope")
        #expect(throws: (any Error).self) { try request.json() }
    }

    @Test("the body shares storage with the request and reports its size")
    func body() throws {
        let request = try request("PUT /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        #expect(request.body == ByteBuffer("hello"))
        #expect(request.bodyCount == 5)
        #expect(request.withBodyBytes { $0.count } == 5)
    }

    @Test("a request built by hand behaves like a parsed one")
    func builtRequest() {
        let request = HTTPRequest(
            method: .post,
            target: "/login?next=%2Fhome",
            headers: ["Host": "example.com", "Content-Type": "application/x-www-form-urlencoded", "Bad\r\nName": "x"],
            body: "user=ann&pass=x"
        )
        #expect(request.path == "/login")
        #expect(request.query["next"] == "/home")
        #expect(request.form["user"] == "ann")
        #expect(request.headers.count == 2)
        #expect(request.keepAlive)
        #expect(HTTPRequest(version: .http1_0).keepAlive == false)
    }

    @Test("remote address is a settable property for the connection")
    func remoteAddress() throws {
        var request = try request("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(request.remoteAddress == nil)
        request.remoteAddress = .unix(path: "peer.sock")
        #expect(request.remoteAddress == .unix(path: "peer.sock"))
    }
}
