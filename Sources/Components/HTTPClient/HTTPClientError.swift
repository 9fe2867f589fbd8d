import WorkermanEventLoop

/// Why an HTTP request failed. `detail` names the origin (`http://host:port`) and the cause.
///
/// ```swift
/// client.get("http://127.0.0.1:8080/") { result in
///     if case .failure(let error) = result, error.code == .timeout { print("too slow:", error) }
/// }
/// ```
public struct HTTPClientError: CodedError {
    public enum Code: String, Equatable, Sendable {
        /// A URL the client cannot use (no host, an unknown scheme).
        case invalidURL
        /// The connection could not be made (refused, unresolvable, connect timeout).
        case connectFailed
        /// The connection closed or reset before the response was complete.
        case connectionClosed
        /// The response broke HTTP/1.1 (a bad status line, a bad header, ambiguous framing, a bad
        /// chunk size, more body than announced).
        case invalidResponse
        /// The response head or body passed its size limit.
        case tooLarge
        /// No complete response within `requestTimeout`.
        case timeout
        /// More redirects than `maxRedirects`.
        case tooManyRedirects
        /// The origin's pool and its waiting queue are full.
        case queueFull
        /// `https://` needs TLS, which this build does not have yet.
        case tlsUnavailable
        /// A `Content-Encoding` that could not be decoded (corrupt gzip, zlib missing).
        case decodingFailed
        /// The client was closed with the request unanswered.
        case cancelled
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var descriptionParts: [String?] { ["HTTP client \(code.rawValue)", detail] }
}
