import WorkermanEventLoop

/// Why a Redis command failed. `detail` names the server (`host:port`) and the cause.
///
/// ```swift
/// redis.get("user:1") { result in
///     if case .failure(let error) = result, error.code == .connection { print("retry later:", error) }
/// }
/// ```
public struct RedisError: CodedError {
    public enum Code: String, Equatable, Sendable {
        /// Redis answered `-ERR …` (the message is in `detail`).
        case server
        /// The connection failed or closed with the command unanswered.
        case connection
        /// An address that does not parse.
        case invalidAddress
        /// A reply of another type than the command's helper expects (a `GET` on a list key answers
        /// `WRONGTYPE`, which is `.server`; this is a reply the client cannot read as asked).
        case unexpectedReply
        /// `EXEC` answered nil: a `WATCH`ed key changed, so nothing of the transaction ran.
        case transactionAborted
        /// `AUTH` or `SELECT` at connect time failed; the connection was closed.
        case handshake
        /// More commands wait for a connection than `Configuration.maxQueuedCommands`.
        case queueFull
        /// The awaiting task was cancelled (async forms); the command itself was not withdrawn.
        case cancelled
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var descriptionParts: [String?] { ["Redis \(code.rawValue) error", detail] }
}
