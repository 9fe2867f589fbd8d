/// A cookie to set with a `Set-Cookie` header (RFC 6265 §4.1), with every attribute Workerman's
/// `Response::cookie()` offers plus `Expires`.
///
/// The value is percent-encoded where RFC 6265 does not allow the byte (space, `"`, `,`, `;`, `\`,
/// `%`, control and non-ASCII bytes), as Workerman's `rawurlencode` does, so `HTTPRequest.cookies`
/// reads it back unchanged.
///
/// ```swift
/// var response = HTTPResponse(body: "welcome")
/// response.setCookie(SetCookie(name: "session", value: id, maxAge: 3600, path: "/", httpOnly: true,
///     sameSite: .lax))
/// ```
public struct SetCookie: Sendable, Equatable {
    /// The `SameSite` attribute.
    public enum SameSite: String, Sendable {
        case strict = "Strict"
        case lax = "Lax"
        case none = "None"
    }

    public var name: String
    public var value: String
    /// `Max-Age` in seconds (0 or less deletes the cookie).
    public var maxAge: Int?
    /// `Expires`, in seconds since 1970.
    public var expires: Int?
    public var path: String?
    public var domain: String?
    public var secure: Bool
    public var httpOnly: Bool
    public var sameSite: SameSite?

    public init(
        name: String,
        value: String,
        maxAge: Int? = nil,
        expires: Int? = nil,
        path: String? = nil,
        domain: String? = nil,
        secure: Bool = false,
        httpOnly: Bool = false,
        sameSite: SameSite? = nil
    ) {
        self.name = name
        self.value = value
        self.maxAge = maxAge
        self.expires = expires
        self.path = path
        self.domain = domain
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// The `Set-Cookie` field value, or nil when the name is not a token or an attribute holds `;` or a
    /// control character (which would let a value inject attributes or header lines).
    public var headerValue: String? {
        guard HTTPResponse.isValidFieldName(name) else { return nil }
        for attribute in [path, domain] {
            if let attribute, !Self.isValidAttributeValue(attribute) { return nil }
        }
        var text = name + "=" + Self.encodeValue(value)
        if let domain { text += "; Domain=" + domain }
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if let expires { text += "; Expires=" + HTTPDate.format(epochSeconds: expires) }
        if let path { text += "; Path=" + path }
        if secure || sameSite == SameSite.none { text += "; Secure" }
        if httpOnly { text += "; HttpOnly" }
        if let sameSite { text += "; SameSite=" + sameSite.rawValue }
        return text
    }

    /// Percent-encodes the bytes a cookie-octet may not hold (RFC 6265 §4.1.1), and `%` itself.
    static func encodeValue(_ value: String) -> String {
        let hex: StaticString = "0123456789ABCDEF"
        var needsWork = false
        for byte in value.utf8 where !isCookieOctet(byte) {
            needsWork = true
            break
        }
        guard needsWork else { return value }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count + 8)
        for byte in value.utf8 {
            if isCookieOctet(byte) {
                bytes.append(byte)
            } else {
                bytes.append(ASCII.percent)
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0xF)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, minus `%` (our escape character).
    private static func isCookieOctet(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x23...0x24, 0x26...0x2B, 0x2D...0x3A, 0x3C...0x5B, 0x5D...0x7E: true
        default: false
        }
    }

    private static func isValidAttributeValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F && $0 != ASCII.semicolon }
    }
}
