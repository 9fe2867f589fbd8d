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
        /// `https://` needs TLS: OpenSSL 3 (`libssl.so.3`) could not be loaded on this machine.
        case tlsUnavailable
        /// The TLS handshake failed: a certificate that does not verify, a wrong host name, no common
        /// protocol. The detail carries OpenSSL's reason.
        case tlsFailed
        /// The proxy refused the request or the tunnel (407 needs credentials, 502 could not reach the
        /// origin), or answered something that is not HTTP.
        case proxyFailed
        /// A `Content-Encoding` that could not be decoded (corrupt gzip, zlib missing).
        case decodingFailed
        /// The request was cancelled (`HTTPClientTask.cancel()`, a cancelled awaiting task), or the client
        /// was closed with it unanswered.
        case cancelled
        /// A streamed request body's producer failed.
        case bodyFailed
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var descriptionParts: [String?] { ["HTTP client \(code.rawValue)", detail] }
}
