import WorkermanEventLoop

/// Why a name could not be resolved, or a DNS message was refused.
///
/// ```swift
/// resolver.resolve("db.internal") { result in
///     if case .failure(let error) = result, error.code == .nameError { print("no such host") }
/// }
/// ```
public struct DNSError: CodedError {
    public enum Code: String, Equatable, Sendable {
        /// The name does not exist (NXDOMAIN from every search candidate).
        case nameError
        /// The name exists but has no address of the asked family.
        case noAddress
        /// Every server failed (SERVFAIL, REFUSED, or no answer within the attempts).
        case serverFailure
        /// No answer within `timeout` × `attempts` from any server.
        case timeout
        /// A message that breaks the format (a parse failure: out-of-bounds pointer, compression loop,
        /// truncated record).
        case malformed
        /// No name server configured, or a socket could not be made.
        case unavailable
        /// The resolver was closed with the lookup unanswered.
        case cancelled
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var descriptionParts: [String?] { ["DNS \(code.rawValue)", detail] }
}
