import WorkermanEventLoop

/// Why a GlobalData call failed, naming the server it went to.
///
/// ```swift
/// client.increment("hits") { result in
///     if case .failure(let error) = result, error.code == .unreachable { … }
/// }
/// ```
public struct GlobalDataError: CodedError {
    public enum Code: String, Hashable, Sendable {
        /// The server refused or did not answer the connection (it is down, or the address is wrong).
        case unreachable
        /// No reply within the client's `timeout`.
        case timedOut
        /// The connection closed with the request unanswered.
        case connectionLost
        /// The reply was not a serialized PHP value of the expected kind.
        case badReply
        /// The server answered with an error (`bad request`, `bad cmd …`).
        case rejected
        /// A server address that does not parse, or an empty server list.
        case invalidAddress
        /// The client was closed.
        case closed
    }

    public let code: Code
    /// The server's address as configured (`127.0.0.1:2207`).
    public let server: String
    public let detail: String

    public init(_ code: Code, server: String, _ detail: String) {
        self.code = code
        self.server = server
        self.detail = detail
    }

    public var descriptionParts: [String?] { ["GlobalData \(code.rawValue) (\(server))", detail] }
}
