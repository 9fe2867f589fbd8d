/// Limits and defaults of `HTTPServerCodec`, shared by every connection of a worker.
///
/// ```swift
/// var configuration = HTTPServerConfiguration()
/// configuration.serverName = "workerman"      // Workerman 4's `Server` header
/// configuration.sendsDate = true
/// configuration.allowedMethods = nil          // any method token reaches onMessage
/// let codec = HTTPServerCodec(configuration: configuration)
/// ```
public struct HTTPServerConfiguration: Sendable {
    /// The largest request head (request line and header fields, through the empty line) in bytes;
    /// a longer one is answered `431` (`414` while still in the request-target). Workerman's 16 KiB.
    public var maxHeaderSize = 16_384
    /// The most header fields (and, separately, trailer fields) in a request; more is answered `431`.
    public var maxHeaderCount = 100
    /// The methods served; any other valid token is answered `501`. nil serves every method.
    public var allowedMethods: [HTTPMethod]? = HTTPMethod.defaultAllowed
    /// A `Server` header added to responses that have none (nil: none, as Workerman 5).
    public var serverName: String?
    /// Whether responses get a `Date` header (formatted once per second by `dateCache`).
    public var sendsDate = false
    /// The `Content-Type` of responses that set none.
    public var defaultContentType = "text/html;charset=utf-8"
    /// Where the `Date` value comes from: one cache per process by default (a connection's codec is
    /// made with `init()`, so a fresh cache per configuration would cost an allocation per connection).
    public var dateCache = HTTPDateCache.shared

    public init() {}
}
