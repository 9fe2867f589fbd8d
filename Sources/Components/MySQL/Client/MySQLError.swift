import WorkermanEventLoop

/// Why a MySQL operation failed: the kind (`code`), and for errors the server sent, its error number,
/// SQL state and message, always with the server it came from.
///
/// ```swift
/// pool.query("INSERT INTO users (email) VALUES (?)", [.string(email)]) { result in
///     if case .failure(let error) = result, error.serverCode == 1062 { print("taken") }
/// }
/// ```
public struct MySQLError: CodedError {
    public enum Code: String, Equatable, Sendable {
        /// The server answered with an ERR packet (`serverCode`, `sqlState`, `message`); the connection
        /// stays usable.
        case server
        /// The connection failed, closed, or was closed with the operation unanswered.
        case connection
        /// The server sent bytes that are not the protocol (a malformed packet, a length beyond the packet,
        /// a row that does not match its columns): the connection is discarded.
        case protocolViolation
        /// Logging in failed on our side (an authentication method we cannot complete).
        case authentication
        /// No answer in time (connect, query, or a pool wait).
        case timeout
        /// The pool has as many callers waiting as it allows.
        case poolExhausted
        /// The pool or connection was closed.
        case closed
        /// A configuration or argument that cannot be used (a URL that does not parse).
        case invalidArgument
        /// A row could not be decoded into the requested type.
        case decoding
        /// The caller stopped waiting (`MySQLPool.cancel`).
        case cancelled
    }

    public let code: Code
    /// The server's error number (1062: duplicate entry, 1213: deadlock, …), for `.server`.
    public let serverCode: UInt16?
    /// The five-character SQL state (`23000`, `40001`, …), for `.server`.
    public let sqlState: String?
    public let message: String
    /// The server (`host:port`) the error concerns; empty before one is known.
    public internal(set) var server: String

    public init(_ code: Code, _ message: String, serverCode: UInt16? = nil, sqlState: String? = nil, server: String = "") {
        self.code = code
        self.message = message
        self.serverCode = serverCode
        self.sqlState = sqlState
        self.server = server
    }

    /// The same error, naming `server`.
    func from(_ server: String) -> MySQLError {
        var copy = self
        if copy.server.isEmpty { copy.server = server }
        return copy
    }

    /// Whether the statement may succeed if retried (deadlock 1213, lock wait timeout 1205).
    public var isRetryable: Bool { serverCode == 1213 || serverCode == 1205 }

    public var description: String {
        let origin = server.isEmpty ? "" : " from \(server)"
        if let serverCode {
            return "MySQL error \(serverCode) (\(sqlState ?? "HY000"))\(origin): \(message)"
        }
        return "MySQL \(code.rawValue) error\(origin): \(message)"
    }

    /// Parses an ERR packet: 0xFF, the error number, `#` and the SQL state (protocol 4.1), the message.
    static func parse(_ payload: [UInt8]) -> MySQLError {
        var reader = MySQLPayloadReader(payload, offset: 1)
        guard let number = try? reader.uint16() else { return MySQLError(.protocolViolation, "truncated ERR packet") }
        var state: String?
        if reader.remaining >= 6, reader.bytes[reader.offset] == UInt8(ascii: "#") {
            _ = try? reader.skip(1)
            state = (try? reader.bytes(5)).map { String(decoding: $0, as: UTF8.self) }
        }
        let message = String(decoding: reader.rest(), as: UTF8.self)
        return MySQLError(.server, message, serverCode: number, sqlState: state)
    }
}
