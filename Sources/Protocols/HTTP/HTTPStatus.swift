/// An HTTP response status: a code and its reason phrase.
///
/// The standard phrase is used unless you give your own; an integer literal works too.
///
/// ```swift
/// HTTPResponse(status: .notFound)
/// HTTPResponse(status: 418)
/// HTTPResponse(status: HTTPStatus(code: 299, reason: "Mostly Fine"))
/// ```
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    /// A phrase replacing the standard one, or nil.
    public var customReason: String?

    public init(code: Int, reason: String? = nil) {
        self.code = code
        self.customReason = reason
    }

    /// The reason phrase sent after the code.
    public var reason: String { customReason ?? Self.standardReason(code) ?? "" }

    public var description: String { "\(code) \(reason)" }

    /// 1xx: an interim response, not the answer to the request.
    public var isInformational: Bool { code >= 100 && code < 200 }

    /// Whether a response with this status never has content (RFC 9110 §6.4.1: 1xx, 204, 304).
    public var forbidsBody: Bool { isInformational || code == 204 || code == 304 }

    public static let `continue` = HTTPStatus(code: 100)
    public static let switchingProtocols = HTTPStatus(code: 101)
    public static let ok = HTTPStatus(code: 200)
    public static let created = HTTPStatus(code: 201)
    public static let accepted = HTTPStatus(code: 202)
    public static let noContent = HTTPStatus(code: 204)
    public static let partialContent = HTTPStatus(code: 206)
    public static let movedPermanently = HTTPStatus(code: 301)
    public static let found = HTTPStatus(code: 302)
    public static let seeOther = HTTPStatus(code: 303)
    public static let notModified = HTTPStatus(code: 304)
    public static let temporaryRedirect = HTTPStatus(code: 307)
    public static let permanentRedirect = HTTPStatus(code: 308)
    public static let badRequest = HTTPStatus(code: 400)
    public static let unauthorized = HTTPStatus(code: 401)
    public static let forbidden = HTTPStatus(code: 403)
    public static let notFound = HTTPStatus(code: 404)
    public static let methodNotAllowed = HTTPStatus(code: 405)
    public static let requestTimeout = HTTPStatus(code: 408)
    public static let lengthRequired = HTTPStatus(code: 411)
    public static let contentTooLarge = HTTPStatus(code: 413)
    public static let uriTooLong = HTTPStatus(code: 414)
    public static let rangeNotSatisfiable = HTTPStatus(code: 416)
    public static let expectationFailed = HTTPStatus(code: 417)
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431)
    public static let internalServerError = HTTPStatus(code: 500)
    public static let notImplemented = HTTPStatus(code: 501)
    public static let serviceUnavailable = HTTPStatus(code: 503)
    public static let httpVersionNotSupported = HTTPStatus(code: 505)

    /// The registered reason phrase for `code` (RFC 9110 §15), or nil.
    public static func standardReason(_ code: Int) -> String? {
        switch code {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 102: "Processing"
        case 103: "Early Hints"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 203: "Non-Authoritative Information"
        case 204: "No Content"
        case 205: "Reset Content"
        case 206: "Partial Content"
        case 207: "Multi-Status"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Payload Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 418: "I'm a teapot"
        case 421: "Misdirected Request"
        case 422: "Unprocessable Content"
        case 425: "Too Early"
        case 426: "Upgrade Required"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 451: "Unavailable For Legal Reasons"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: nil
        }
    }

    /// The whole status line for the most used statuses, so encoding them is one copy of static bytes.
    /// (413 says "Payload Too Large" as Workerman does; RFC 9110 renamed it "Content Too Large".)
    var precomputedStatusLine: StaticString? {
        guard customReason == nil else { return nil }
        switch code {
        case 200: return "HTTP/1.1 200 OK\r\n"
        case 201: return "HTTP/1.1 201 Created\r\n"
        case 204: return "HTTP/1.1 204 No Content\r\n"
        case 206: return "HTTP/1.1 206 Partial Content\r\n"
        case 301: return "HTTP/1.1 301 Moved Permanently\r\n"
        case 302: return "HTTP/1.1 302 Found\r\n"
        case 304: return "HTTP/1.1 304 Not Modified\r\n"
        case 400: return "HTTP/1.1 400 Bad Request\r\n"
        case 403: return "HTTP/1.1 403 Forbidden\r\n"
        case 404: return "HTTP/1.1 404 Not Found\r\n"
        case 500: return "HTTP/1.1 500 Internal Server Error\r\n"
        default: return nil
        }
    }
}

extension HTTPStatus: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(code: value) }
}
