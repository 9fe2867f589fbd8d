import WorkermanEventLoop

/// An error of the transport layer: what failed (`code`), the operation with its address, and the system's
/// cause. The codes `connectFailed` and `sendFailed` are Workerman's `WORKERMAN_CONNECT_FAIL` (1) and
/// `WORKERMAN_SEND_FAIL` (2), which `onError` receives.
///
/// ```swift
/// client.onError = { connection, error in
///     if error.code == .connectFailed { print("cannot reach \(error.operation): \(error)") }
/// }
/// ```
public struct TransportError: CodedError {
    public enum Code: Int, Hashable, Sendable {
        /// Workerman's `WORKERMAN_CONNECT_FAIL`.
        case connectFailed = 1
        /// Workerman's `WORKERMAN_SEND_FAIL`: the peer is gone, or the send buffer is full.
        case sendFailed = 2
        /// The peer sent bytes the codec rejected (counted as `packet_err`).
        case protocolError = 3
        /// A user callback threw (counted as `throw_exception`).
        case callbackFailed = 4
        /// An address that does not parse, or a unix path that does not fit.
        case invalidAddress = 10
        /// A host name that does not resolve.
        case unresolvable = 11
        /// bind/listen failed (address in use, missing directory, no permission).
        case listenFailed = 12
        /// The event loop refused a registration.
        case loopFailed = 13
        /// A datagram larger than can be sent or received.
        case datagramTooLarge = 14
        /// A connection could not hand its socket to another codec (a WebSocket upgrade from an HTTP
        /// route): it was no longer open, or an earlier response was still being sent or streamed.
        case handoverFailed = 15
    }

    public let code: Code
    /// What was being done, with the address, e.g. `connect tcp://127.0.0.1:9`.
    public let operation: String
    public let cause: Errno?
    public let detail: String?

    public init(_ code: Code, _ operation: String, cause: Errno? = nil, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.cause = cause
        self.detail = detail
    }

    /// Makes the text Workerman passes to `onError`, e.g. `connect tcp://127.0.0.1:9 failed: Connection refused`.
    public var descriptionParts: [String?] { [operation, detail, cause?.description] }
}
