extension HTTPRequest {
    /// The cookies sent in `Cookie` headers (RFC 6265 §5.4: `name=value` pairs separated by `;`), with
    /// values percent-decoded (`+` is kept: cookie values are not form-encoded) and surrounding double
    /// quotes removed. For a repeated name the first wins, as browsers send the most specific first.
    ///
    /// ```swift
    /// // Cookie: session=abc123; theme=dark
    /// request.cookies["theme"]      // "dark"
    /// request.cookie("session")     // "abc123"
    /// ```
    public var cookies: [String: String] {
        var cookies: [String: String] = [:]
        forEachField { name, value in
            if ASCII.equalsIgnoringCase(name, "cookie") {
                Self.parseCookies(value) { name, value in
                    if cookies[name] == nil { cookies[name] = value }
                }
            }
            return true
        }
        return cookies
    }

    /// The value of the cookie `name`, or nil.
    public func cookie(_ name: String) -> String? {
        cookies[name]
    }

    static func parseCookies(_ bytes: UnsafeRawBufferPointer, _ found: (String, String) -> Void) {
        var start = 0
        var index = 0
        let count = bytes.count
        while index <= count {
            if index == count || bytes[index] == ASCII.semicolon {
                let pair = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                if let equals = pair.firstIndex(of: ASCII.equals), equals > 0 {
                    let name = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: pair[0..<equals]))
                    var value = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: pair[(equals + 1)...]))
                    if value.count >= 2, value[0] == ASCII.quote, value[value.count - 1] == ASCII.quote {
                        value = UnsafeRawBufferPointer(rebasing: value[1..<(value.count - 1)])
                    }
                    found(String(decoding: name, as: UTF8.self), PercentDecoding.decode(value))
                }
                start = index + 1
            }
            index += 1
        }
    }
}
