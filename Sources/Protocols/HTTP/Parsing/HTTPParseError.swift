/// Why the request parser refused a request: the status to answer with and a short, stable reason
/// (used in the `CodecRejection`, so logs and `onError` say what was wrong).
struct HTTPParseError: Error, Equatable {
    var status: Int
    var reason: String

    init(_ status: Int, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    static func badRequest(_ reason: String) -> HTTPParseError { HTTPParseError(400, reason) }

    static let headerTooLarge = HTTPParseError(431, "header section too large")
    static let tooManyHeaders = HTTPParseError(431, "too many header fields")
    static let trailersTooLarge = HTTPParseError(431, "trailer section too large")
    static let uriTooLong = HTTPParseError(414, "request-target too long")
    static let contentTooLarge = HTTPParseError(413, "body larger than maxPackageSize")
    static let methodNotImplemented = HTTPParseError(501, "method not implemented")
    static let versionNotSupported = HTTPParseError(505, "HTTP version not supported")
    static let unsupportedTransferCoding = HTTPParseError(501, "transfer coding not implemented")
    static let unsupportedExpectation = HTTPParseError(417, "unsupported expectation")
}
