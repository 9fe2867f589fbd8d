import WorkermanTransport

/// Where a request goes: scheme, host, port and the request target (path and query), from a URL.
///
/// ```swift
/// let url = try HTTPURL("http://[::1]:8080/search?q=swift")
/// url.origin   // "http://[::1]:8080"
/// ```
public struct HTTPURL: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int
    /// The path and query (`/search?q=swift`), never empty.
    public var target: String

    public init(_ text: String) throws(HTTPClientError) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { throw HTTPClientError(.invalidURL, "\(text): no scheme") }
        scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { throw HTTPClientError(.invalidURL, "\(text): scheme \(scheme) is not http or https") }
        var rest = text[text.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        target = authorityEnd == rest.endIndex ? "/" : String(rest[authorityEnd...])
        if target.hasPrefix("?") { target = "/" + target }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }  // userinfo: not sent
        port = scheme == "https" ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw HTTPClientError(.invalidURL, "\(text): unclosed [") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(after.dropFirst(), text) }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = try Self.port(authority[authority.index(after: colon)...], text)
        } else {
            host = String(authority)
        }
        host = host.lowercased()
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }) else { throw HTTPClientError(.invalidURL, "\(text): no host") }
        guard !target.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else { throw HTTPClientError(.invalidURL, "\(text): spaces or control bytes in the path") }
    }

    private static func port(_ text: Substring, _ url: String) throws(HTTPClientError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw HTTPClientError(.invalidURL, "\(url): bad port") }
        return port
    }

    /// `scheme://host:port`: the pool key.
    public var origin: String { "\(scheme)://\(hostForURL):\(port)" }

    /// The `Host` header: the port only when it is not the scheme's default.
    public var hostHeader: String {
        (scheme == "http" && port == 80) || (scheme == "https" && port == 443) ? hostForURL : "\(hostForURL):\(port)"
    }

    private var hostForURL: String { host.contains(":") ? "[\(host)]" : host }

    public var description: String { origin + target }

    /// `location` (absolute, or relative to this URL) as a URL.
    public func resolving(_ location: String) throws(HTTPClientError) -> HTTPURL {
        if location.contains("://") { return try HTTPURL(location) }
        if location.hasPrefix("//") { return try HTTPURL(scheme + ":" + location) }
        if location.hasPrefix("/") { return try HTTPURL(origin + location) }
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let directory = path.hasSuffix("/") ? path : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
        return try HTTPURL(origin + directory + location)
    }
}

/// A request body: bytes, a form, JSON text, multipart parts, or a stream from a producer.
///
/// ```swift
/// client.post("http://api.local/users", body: .json(#"{"name":"Ada"}"#)) { print($0) }
/// client.post(url, body: .form([("q", "swift nio"), ("page", "2")])) { … }
/// client.post(url, body: .stream(length: nil) { writer in … }) { … }   // chunked
/// ```
///
/// Not `Sendable`: a streamed body's producer runs on the client's loop.
public enum HTTPClientBody {
    case bytes(ByteBuffer, contentType: String = "application/octet-stream")
    /// `application/x-www-form-urlencoded`.
    case form([(String, String)])
    /// `application/json` (the text as given).
    case json(String)
    /// `multipart/form-data` with a random boundary.
    case multipart([HTTPMultipartPart])
    /// Pieces from `producer`, sent as the socket takes them: with `Content-Length` when `length` is
    /// given, chunked otherwise. It cannot be sent twice: a 307/308 redirect is returned, not followed,
    /// and a kept-alive connection found closed is not retried.
    case stream(length: Int?, HTTPBodyProducer)

    /// A streamed body (it can be sent only once).
    var isStream: Bool {
        if case .stream = self { return true }
        return false
    }

    /// The encoded bytes and their content type.
    func encoded() -> (ByteBuffer, String) {
        switch self {
        case .bytes(let bytes, let type): return (bytes, type)
        case .stream: return (ByteBuffer(), "application/octet-stream")
        case .json(let text): return (ByteBuffer(text), "application/json")
        case .form(let fields):
            let text = fields.map { HTTPClientRequest.percentEncoded($0.0) + "=" + HTTPClientRequest.percentEncoded($0.1) }.joined(separator: "&")
            return (ByteBuffer(text), "application/x-www-form-urlencoded")
        case .multipart(let parts):
            let boundary = "wm-" + String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            var body = ByteBuffer()
            for part in parts {
                body.append("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name.quotedEscaped)\"")
                if let filename = part.filename { body.append("; filename=\"\(filename.quotedEscaped)\"") }
                body.append("\r\n")
                if let type = part.contentType { body.append("Content-Type: \(type)\r\n") }
                body.append("\r\n")
                body.append(part.content)
                body.append("\r\n")
            }
            body.append("--\(boundary)--\r\n")
            return (body, "multipart/form-data; boundary=\(boundary)")
        }
    }
}

/// One part of a multipart body: a field, or a file with a name and type.
public struct HTTPMultipartPart: Sendable {
    public var name: String
    public var filename: String?
    public var contentType: String?
    public var content: ByteBuffer

    public init(name: String, filename: String? = nil, contentType: String? = nil, content: ByteBuffer) {
        self.name = name
        self.filename = filename
        self.contentType = contentType
        self.content = content
    }
}

/// A request: method, URL, headers, query parameters, body.
///
/// ```swift
/// var request = try HTTPClientRequest(method: "PUT", url: "http://127.0.0.1:8080/items/7")
/// request.headers.append(("Authorization", "Bearer …"))
/// request.query = [("v", "2")]
/// request.body = .json(#"{"done":true}"#)
/// client.request(request) { result in … }
/// ```
public struct HTTPClientRequest {
    public var method: String
    public var url: HTTPURL
    public var headers: [(String, String)]
    /// Appended to the URL's query, percent-encoded.
    public var query: [(String, String)] = []
    public var body: HTTPClientBody?

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: HTTPClientBody? = nil) throws(HTTPClientError) {
        self.method = method.uppercased()
        self.url = try HTTPURL(url)
        self.headers = headers
        self.body = body
    }

    /// The request as bytes on the wire (HTTP/1.1, `Host`, `Content-Length`, `Accept-Encoding` when
    /// zlib is there); in absolute form with the proxy's credentials for a proxy.
    func encoded(acceptEncoding: Bool, absoluteForm: Bool = false, proxyAuthorization: String? = nil) throws(HTTPClientError) -> ByteBuffer {
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw HTTPClientError(.invalidURL, "bad method \(method)") }
        var target = url.target
        if !query.isEmpty {
            target += (target.contains("?") ? "&" : "?") + query.map { Self.percentEncoded($0.0) + "=" + Self.percentEncoded($0.1) }.joined(separator: "&")
        }
        if absoluteForm { target = url.origin + target }
        var head = "\(method) \(target) HTTP/1.1\r\n"
        let names = Set(headers.map { $0.0.lowercased() })
        if !names.contains("host") { head += "Host: \(url.hostHeader)\r\n" }
        if let proxyAuthorization, !names.contains("proxy-authorization") { head += "Proxy-Authorization: \(proxyAuthorization)\r\n" }
        if acceptEncoding, !names.contains("accept-encoding") { head += "Accept-Encoding: gzip, deflate\r\n" }
        for (name, value) in headers {
            // A CR or LF in a header would let a caller's input add headers of its own: refused.
            guard !name.isEmpty, !(name + value).utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else {
                throw HTTPClientError(.invalidURL, "header \(name.debugDescription) has a line break")
            }
            head += "\(name): \(value)\r\n"
        }
        var payload: ByteBuffer?
        if let body {
            let (bytes, type) = body.encoded()
            if !names.contains("content-type") { head += "Content-Type: \(type)\r\n" }
            payload = bytes
        }
        if case .stream(let length, _) = body {
            head += length.map { "Content-Length: \($0)\r\n" } ?? "Transfer-Encoding: chunked\r\n"
            payload = nil
        } else if let payload {
            head += "Content-Length: \(payload.readableBytes)\r\n"
        } else if ["POST", "PUT", "PATCH"].contains(method) {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        var bytes = ByteBuffer(head)
        if let payload { bytes.append(payload) }
        return bytes
    }

    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case 48...57, 65...90, 97...122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded
            }
        }
        return result
    }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
    /// For a quoted multipart parameter: backslash and quote escaped, line breaks dropped.
    fileprivate var quotedEscaped: String {
        var result = ""
        for character in self {
            switch character {
            case "\\", "\"": result += "\\" + String(character)
            case "\r", "\n", "\r\n": continue
            default: result.append(character)
            }
        }
        return result
    }
}
