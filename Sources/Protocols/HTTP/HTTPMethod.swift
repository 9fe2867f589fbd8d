/// An HTTP request method (RFC 9110 §9).
///
/// The common methods are cases, so comparing them costs nothing and parsing them allocates nothing;
/// any other token is `.other("PURGE")`. `HTTPMethod("GET")` normalises to `.get`.
///
/// ```swift
/// switch request.method {
/// case .get, .head: serve(request)
/// case .post: store(request.body)
/// default: connection.send(.response(HTTPResponse(status: .methodNotAllowed)))
/// }
/// ```
public enum HTTPMethod: Hashable, Sendable, CustomStringConvertible {
    case get
    case head
    case post
    case put
    case delete
    case options
    case patch
    case trace
    case connect
    /// Any other method token, exactly as received (methods are case-sensitive).
    case other(String)

    /// The method for `name`, normalising the common ones to their cases.
    public init(_ name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        case "PATCH": self = .patch
        case "TRACE": self = .trace
        case "CONNECT": self = .connect
        default: self = .other(name)
        }
    }

    /// The method token as sent on the wire.
    public var rawValue: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .options: "OPTIONS"
        case .patch: "PATCH"
        case .trace: "TRACE"
        case .connect: "CONNECT"
        case .other(let name): name
        }
    }

    public var description: String { rawValue }

    /// The methods `HTTPServerCodec` accepts by default: Workerman 4's list (GET POST OPTIONS HEAD DELETE
    /// PUT PATCH). Anything else is answered `501 Not Implemented` unless configured.
    public static let defaultAllowed: [HTTPMethod] = [.get, .head, .post, .put, .delete, .options, .patch]

    /// A small number for each common method (nil for `.other`), so a request can keep its method
    /// without a reference to count.
    var standardCode: UInt8? {
        switch self {
        case .get: 0
        case .head: 1
        case .post: 2
        case .put: 3
        case .delete: 4
        case .options: 5
        case .patch: 6
        case .trace: 7
        case .connect: 8
        case .other: nil
        }
    }

    /// The common method numbered `code` by `standardCode`.
    init(standardCode code: UInt8) {
        switch code {
        case 0: self = .get
        case 1: self = .head
        case 2: self = .post
        case 3: self = .put
        case 4: self = .delete
        case 5: self = .options
        case 6: self = .patch
        case 7: self = .trace
        default: self = .connect
        }
    }

    /// Recognises a method token without allocating for the common ones.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if bytes[0] == 0x47, bytes[1] == 0x45, bytes[2] == 0x54 { return .get }
            if bytes[0] == 0x50, bytes[1] == 0x55, bytes[2] == 0x54 { return .put }
        case 4:
            if matches(bytes, "POST") { return .post }
            if matches(bytes, "HEAD") { return .head }
        case 5:
            if matches(bytes, "PATCH") { return .patch }
            if matches(bytes, "TRACE") { return .trace }
        case 6:
            if matches(bytes, "DELETE") { return .delete }
        case 7:
            if matches(bytes, "OPTIONS") { return .options }
            if matches(bytes, "CONNECT") { return .connect }
        default:
            break
        }
        return .other(String(decoding: bytes, as: UTF8.self))
    }

    @inline(__always)
    private static func matches(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        // Methods are case-sensitive (RFC 9110 §9.1): an exact byte comparison.
        let start = literal.utf8Start
        for index in 0..<bytes.count where bytes[index] != start[index] { return false }
        return true
    }
}

extension HTTPMethod: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}
