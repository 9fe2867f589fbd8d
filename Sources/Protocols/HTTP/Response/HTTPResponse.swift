import WorkermanTransport

/// An HTTP response: status, ordered headers and a body, sent with `connection.send(.response(…))`.
///
/// What the codec adds when encoding, unless you set the header yourself (Workerman 5's defaults, so
/// `HTTPResponse(body: "Hello World")` is byte-identical to Workerman's `send('Hello World')`):
/// `Connection: keep-alive` (or `close` when the request asked to close), `Content-Type:
/// text/html;charset=utf-8`, and `Content-Length`. `Date` and `Server` are added only when the
/// codec's configuration asks for them (`sendsDate`, `serverName`).
///
/// ```swift
/// HTTPResponse(body: "Hello World")
/// HTTPResponse(status: .notFound, body: "<h3>404 Not Found</h3>")
/// HTTPResponse(status: .created, headers: ["Content-Type": "application/json"], body: #"{"id":7}"#)
///     .withHeader("Location", "/items/7")
/// ```
///
/// Streaming: a response with `Transfer-Encoding: chunked` (`HTTPResponse.chunked()`) is followed by
/// `HTTPChunk`s and ends with `HTTPChunk.end`; a `text/event-stream` response (`HTTPResponse.eventStream()`)
/// is followed by `ServerSentEvent`s.
public struct HTTPResponse: Sendable, Equatable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: HTTPBody

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: HTTPBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: String) {
        self.init(status: status, headers: headers, body: .text(body))
    }

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: ByteBuffer) {
        self.init(status: status, headers: headers, body: .bytes(body))
    }

    // MARK: - Building (Workerman's `with…` methods)

    public func withStatus(_ status: HTTPStatus) -> HTTPResponse {
        var copy = self
        copy.status = status
        return copy
    }

    /// A copy with `name` set to `value` (replacing any previous values).
    public func withHeader(_ name: String, _ value: String) -> HTTPResponse {
        var copy = self
        copy.headers.set(name, value)
        return copy
    }

    /// A copy with each of `headers` set.
    public func withHeaders(_ headers: HTTPHeaders) -> HTTPResponse {
        var copy = self
        for field in headers { copy.headers.set(field.name, field.value) }
        return copy
    }

    public func withoutHeader(_ name: String) -> HTTPResponse {
        var copy = self
        copy.headers.remove(name)
        return copy
    }

    public func withBody(_ body: HTTPBody) -> HTTPResponse {
        var copy = self
        copy.body = body
        return copy
    }

    public func withBody(_ body: String) -> HTTPResponse { withBody(.text(body)) }

    // MARK: - Cookies

    /// Adds a `Set-Cookie` header; a cookie with an invalid name or attribute is not added.
    public mutating func setCookie(_ cookie: SetCookie) {
        if let value = cookie.headerValue { headers.add("Set-Cookie", value) }
    }

    /// Adds a `Set-Cookie` header (Workerman's `cookie()` argument order).
    public mutating func cookie(
        _ name: String,
        _ value: String = "",
        maxAge: Int? = nil,
        path: String? = nil,
        domain: String? = nil,
        secure: Bool = false,
        httpOnly: Bool = false,
        sameSite: SetCookie.SameSite? = nil
    ) {
        setCookie(
            SetCookie(
                name: name,
                value: value,
                maxAge: maxAge,
                path: path,
                domain: domain,
                secure: secure,
                httpOnly: httpOnly,
                sameSite: sameSite
            )
        )
    }

    // MARK: - Common responses

    /// A redirect to `location` (302 by default, as Workerman's `Location` header implies).
    public static func redirect(to location: String, status: HTTPStatus = .found) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Location": location])
    }

    /// The head of a chunked response; send `HTTPChunk`s after it and `HTTPChunk.end` last. A body
    /// given here goes out as the first chunk.
    public static func chunked(status: HTTPStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var response = HTTPResponse(status: status, headers: headers)
        response.headers.set("Transfer-Encoding", "chunked")
        return response
    }

    /// The head of a server-sent event stream (`text/event-stream`, no length: the stream lasts until
    /// the connection closes); send `ServerSentEvent`s after it.
    public static func eventStream(headers: HTTPHeaders = [:]) -> HTTPResponse {
        var response = HTTPResponse(headers: headers)
        response.headers.set("Content-Type", "text/event-stream")
        if !response.headers.contains("Cache-Control") { response.headers.set("Cache-Control", "no-cache") }
        return response
    }

    // MARK: - Field validity

    /// Whether `name` may be sent as a field name (a token).
    public static func isValidFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(ASCII.isTokenChar)
    }

    /// Whether `value` may be sent as a field value: no CR, LF, NUL or other control character but
    /// HTAB (response splitting is impossible through a value that passes).
    public static func isValidFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy(ASCII.isFieldValueChar)
    }
}

extension HTTPResponse: CustomStringConvertible {
    public var description: String { "HTTPResponse(\(status), \(headers.count) headers, \(body.count) body bytes)" }
}
