import WorkermanTransport

/// One HTTP request, as `onMessage` receives it from `HTTPServerCodec`.
///
/// The request keeps its head and body in one buffer (one allocation per request) and reads what you ask
/// for from it when you ask: headers, the query, cookies and the form are parsed on access, not in
/// `decode`, so a handler that looks at nothing pays for nothing. Keep a parsed result in a local if you
/// use it repeatedly.
///
/// ```swift
/// worker.onMessage = { connection, request in
///     let name = request.query["name"] ?? "world"
///     if request.method == .post, let email = request.form["email"] { subscribe(email) }
///     connection.send(.response(HTTPResponse(body: "Hello \(name)")))
/// }
/// ```
public struct HTTPRequest: Sendable, Equatable {
    /// The head followed by the (de-chunked) body.
    let raw: ByteBuffer
    /// Offsets and flags, all plain values.
    let layout: Layout
    /// What few requests carry (a method outside the common nine, trailers) and the peer's address,
    /// which every request of a connection shares.
    ///
    /// Why this split: a request is copied into and out of `onMessage` and destroyed after it. Kept as
    /// separate fields (an enum with a string payload, an address, a header list, the buffer), each copy
    /// and each destruction went through outlined value-witness calls, about a twentieth of a small
    /// request's instructions; as a buffer, plain values and one shared reference it is two counts.
    var extras: Extras

    struct Layout: Equatable {
        /// Where the body starts in `raw`; the head ends with its empty line just before.
        var headLength: Int
        var targetStart: Int
        var targetEnd: Int
        /// Where the first field line starts in `raw`.
        var fieldsStart: Int
        /// `HTTPMethod.standardCode`, or `Layout.otherMethod` (the name is in `extras`).
        var methodCode: UInt8
        var version: HTTPVersion
        var keepAlive: Bool

        static let otherMethod: UInt8 = .max
    }

    /// The rarely set parts of a request, immutable (a setter replaces the whole object).
    final class Extras: Sendable {
        let remoteAddress: SocketAddress?
        let otherMethod: String
        let trailers: HTTPHeaders

        init(remoteAddress: SocketAddress?, otherMethod: String = "", trailers: HTTPHeaders = HTTPHeaders()) {
            self.remoteAddress = remoteAddress
            self.otherMethod = otherMethod
            self.trailers = trailers
        }
    }

    /// The request method.
    public var method: HTTPMethod {
        layout.methodCode == Layout.otherMethod ? .other(extras.otherMethod) : HTTPMethod(standardCode: layout.methodCode)
    }
    /// The version in the request line (`HTTP/1.0` or `HTTP/1.1`; a higher 1.x is served as 1.1).
    public var version: HTTPVersion { layout.version }
    /// Whether the connection stays open after the response: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool { layout.keepAlive }
    /// Trailer fields that followed a chunked body (empty otherwise).
    public var trailers: HTTPHeaders { extras.trailers }
    /// The peer's address, for the connection (or a proxy-aware handler) to fill in; nil until then.
    public var remoteAddress: SocketAddress? {
        get { extras.remoteAddress }
        set { extras = Extras(remoteAddress: newValue, otherMethod: extras.otherMethod, trailers: extras.trailers) }
    }

    var headLength: Int { layout.headLength }
    var targetStart: Int { layout.targetStart }
    var targetEnd: Int { layout.targetEnd }
    var fieldsStart: Int { layout.fieldsStart }

    /// Builds a request from parsed bytes: `packet` is exactly the message `parser` measured. `shared`
    /// carries the connection's address; a request that needs its own extras gets a new one.
    init(packet: UnsafeRawBufferPointer, parser: borrowing HTTPRequestParser, shared: Extras) {
        let methodCode = parser.method.standardCode
        layout = Layout(
            headLength: parser.headLength,
            targetStart: parser.targetStart,
            targetEnd: parser.targetEnd,
            fieldsStart: parser.fieldsStart,
            methodCode: methodCode ?? Layout.otherMethod,
            version: parser.version,
            keepAlive: parser.facts.keepAlive
        )
        var trailers = HTTPHeaders()
        if parser.facts.isChunked {
            var buffer = ByteBuffer(capacity: packet.count)
            buffer.append(UnsafeRawBufferPointer(rebasing: packet[0..<parser.headLength]))
            trailers = HTTPChunkedBody.decode(packet, bodyStart: parser.headLength, into: &buffer)
            raw = buffer
        } else {
            raw = ByteBuffer(packet)
        }
        if methodCode == nil || !trailers.isEmpty {
            extras = Extras(remoteAddress: shared.remoteAddress, otherMethod: parser.method.rawValue, trailers: trailers)
        } else {
            extras = shared
        }
    }

    /// Builds a request by hand, for tests of handlers and for clients. Fields whose name is not a token
    /// or whose value holds CR, LF or NUL are left out.
    ///
    /// ```swift
    /// let request = HTTPRequest(method: .post, target: "/login", headers: ["Host": "example.com",
    ///     "Content-Type": "application/x-www-form-urlencoded"], body: "user=ann&pass=x")
    /// ```
    public init(
        method: HTTPMethod = .get,
        target: String = "/",
        version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = [:],
        body: ByteBuffer = ByteBuffer()
    ) {
        var buffer = ByteBuffer()
        buffer.append(method.rawValue)
        buffer.append(ASCII.space)
        let start = buffer.readableBytes
        buffer.append(target.isEmpty ? "/" : target)
        let end = buffer.readableBytes
        buffer.append(" \(version)\r\n")
        let fields = buffer.readableBytes
        for field in headers
        where HTTPResponse.isValidFieldName(field.name) && HTTPResponse.isValidFieldValue(field.value) {
            buffer.append(field.name)
            buffer.append(": ")
            buffer.append(field.value)
            buffer.append("\r\n")
        }
        let close = headers.containsToken("close", in: "Connection")
        let keepAliveOption = headers.containsToken("keep-alive", in: "Connection")
        buffer.append("\r\n")
        let methodCode = method.standardCode
        self.layout = Layout(
            headLength: buffer.readableBytes,
            targetStart: start,
            targetEnd: end,
            fieldsStart: fields,
            methodCode: methodCode ?? Layout.otherMethod,
            version: version,
            keepAlive: version.minor >= 1 ? !close : keepAliveOption && !close
        )
        self.extras = Extras(remoteAddress: nil, otherMethod: methodCode == nil ? method.rawValue : "")
        buffer.append(body)
        self.raw = buffer
    }

    // MARK: - Raw access

    /// Calls `body` with the head's bytes (request line through the empty line).
    @inline(__always)
    func withHeadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        raw.withReadableBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<headLength])) }
    }

    /// The request head as received (`rawHead()` in Workerman).
    public var rawHead: String { withHeadBytes { String(decoding: $0, as: UTF8.self) } }

    // MARK: - Target

    /// The request-target as sent: `/path?query`, or `http://host/path?query` in absolute form.
    public var target: String {
        withHeadBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[targetStart..<targetEnd]), as: UTF8.self) }
    }

    /// The path of the target, still percent-encoded (Workerman's `path()`); `/` for an absolute-form
    /// target without one. Decode it with `PercentDecoding.decode(request.path)`.
    public var path: String {
        withHeadBytes { head in
            let range = pathRange(head)
            if range.isEmpty { return "/" }
            return String(decoding: UnsafeRawBufferPointer(rebasing: head[range]), as: UTF8.self)
        }
    }

    /// The text after `?` up to any `#`, still encoded (Workerman's `queryString()`); empty if none.
    public var queryString: String {
        withHeadBytes { head in
            String(decoding: UnsafeRawBufferPointer(rebasing: head[queryRange(head)]), as: UTF8.self)
        }
    }

    /// The decoded query parameters (Workerman's `get()`), parsed on each access.
    public var query: URLEncodedForm {
        withHeadBytes { head in URLEncodedForm(parsing: UnsafeRawBufferPointer(rebasing: head[queryRange(head)])) }
    }

    /// The range of the path within the target.
    private func pathRange(_ head: UnsafeRawBufferPointer) -> Range<Int> {
        var start = targetStart
        if head[start] != ASCII.slash, head[start] != ASCII.asterisk {
            // absolute-form: skip `scheme://authority`.
            while start < targetEnd, head[start] != ASCII.colon { start += 1 }
            start = min(start + 3, targetEnd)
            while start < targetEnd, head[start] != ASCII.slash, head[start] != ASCII.questionMark,
                head[start] != ASCII.hash
            {
                start += 1
            }
        }
        var end = start
        while end < targetEnd, head[end] != ASCII.questionMark, head[end] != ASCII.hash { end += 1 }
        return start..<end
    }

    private func queryRange(_ head: UnsafeRawBufferPointer) -> Range<Int> {
        var start = targetStart
        while start < targetEnd, head[start] != ASCII.questionMark {
            if head[start] == ASCII.hash { return start..<start }
            start += 1
        }
        guard start < targetEnd else { return targetEnd..<targetEnd }
        start += 1
        var end = start
        while end < targetEnd, head[end] != ASCII.hash { end += 1 }
        return start..<end
    }

    // MARK: - Headers

    /// Calls `body` with each field's name and trimmed value, in order, until it returns false.
    func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        withHeadBytes { head in
            var index = fieldsStart
            let end = headLength - 2
            while index < end {
                var colon = index
                while head[colon] != ASCII.colon { colon += 1 }
                var lineEnd = colon
                while head[lineEnd] != ASCII.cr { lineEnd += 1 }
                let name = UnsafeRawBufferPointer(rebasing: head[index..<colon])
                let value = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: head[(colon + 1)..<lineEnd]))
                if !body(name, value) { return }
                index = lineEnd + 2
            }
        }
    }

    /// The first value of the header `name` (case-insensitive), or nil.
    ///
    /// ```swift
    /// request.header("user-agent")   // "curl/8.5.0"
    /// ```
    public func header(_ name: String) -> String? {
        var name = name
        var result: String?
        name.withUTF8 { wanted in
            forEachField { fieldName, value in
                guard ASCII.equalsIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) else { return true }
                result = String(headerBytes: value)
                return false
            }
        }
        return result
    }

    /// Every value of the header `name`, in the order received.
    public func headers(named name: String) -> [String] {
        var name = name
        var result: [String] = []
        name.withUTF8 { wanted in
            forEachField { fieldName, value in
                if ASCII.equalsIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) {
                    result.append(String(headerBytes: value))
                }
                return true
            }
        }
        return result
    }

    /// All header fields in order (built on each access).
    public var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        forEachField { name, value in
            headers.add(String(headerBytes: name), String(headerBytes: value))
            return true
        }
        return headers
    }

    /// The `Host` header (with any port), or nil.
    public var host: String? { header("Host") }

    /// The `Content-Type` header, or nil.
    public var contentType: String? { header("Content-Type") }

    /// The media type of `Content-Type` in lower case, without parameters (`application/json`).
    public var mediaType: String? {
        guard let contentType else { return nil }
        let type = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return String(type).trimmingASCIIWhitespace().lowercasedASCII()
    }

    // MARK: - Body

    /// The body (de-chunked), sharing the request's storage.
    public var body: ByteBuffer {
        var body = raw
        body.consume(headLength)
        return body
    }

    /// The body's length in bytes.
    public var bodyCount: Int { raw.readableBytes - headLength }

    /// The body decoded as UTF-8 (invalid sequences repaired).
    public var bodyString: String { withBodyBytes { String(decoding: $0, as: UTF8.self) } }

    /// Calls `body` with the body's bytes, without copying.
    public func withBodyBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try raw.withReadableBytes { (bytes) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: bytes[headLength...]))
        }
    }

    /// The fields of an `application/x-www-form-urlencoded` body (Workerman's `post()` for forms);
    /// empty for any other content type. Multipart bodies: `multipart()`; JSON: `decodeJSON(_:)`.
    public var form: URLEncodedForm {
        guard mediaType == "application/x-www-form-urlencoded" else { return URLEncodedForm() }
        return withBodyBytes { URLEncodedForm(parsing: $0) }
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.layout == rhs.layout && lhs.raw == rhs.raw && lhs.method == rhs.method
            && lhs.trailers == rhs.trailers && lhs.remoteAddress == rhs.remoteAddress
    }
}

extension HTTPRequest: CustomStringConvertible {
    public var description: String {
        "HTTPRequest(\(method) \(target) \(version), \(headers.count) headers, \(bodyCount) body bytes)"
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        var text = self
        return text.withUTF8 { String(decoding: ASCII.trimmingWhitespace(UnsafeRawBufferPointer($0)), as: UTF8.self) }
    }

    func lowercasedASCII() -> String {
        String(decoding: utf8.map { ASCII.lowercased($0) }, as: UTF8.self)
    }
}
