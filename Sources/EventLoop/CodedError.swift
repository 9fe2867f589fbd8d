/// What every error of this library is: a stable `code` to match on, and a description put together the
/// same way everywhere, from the parts the error names in order (`"connect tcp://127.0.0.1:9: Connection
/// refused"`, `"Redis connection error: 127.0.0.1:6379 closed"`). The loop, transport, process, DNS,
/// Redis, HTTP client, MySQL and GlobalData errors all conform, so a log line or a status page can print
/// any of them, and match any of them by code, without knowing which layer threw.
///
/// ```swift
/// func report(_ error: any CodedError) {
///     print("[\(error.codeName)] \(error)")    // [connectFailed] connect tcp://127.0.0.1:9: Connection refused
/// }
/// ```
///
/// A new error type declares its codes and its parts; `description` comes from here:
///
/// ```swift
/// struct CacheError: CodedError {
///     enum Code: String, Hashable, Sendable { case miss, evicted }
///     let code: Code
///     let key: String
///     var descriptionParts: [String?] { ["cache \(code.rawValue)", key] }   // "cache miss: user:1"
/// }
/// ```
public protocol CodedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure of this error type, stable for matching (`error.code == .timeout`).
    associatedtype Code: RawRepresentable, Hashable, Sendable

    /// What went wrong.
    var code: Code { get }

    /// The description's parts in order: the ones present are joined with `": "`, nil ones left out
    /// (an operation, then extra words, then the system's cause, for example).
    var descriptionParts: [String?] { get }
}

extension CodedError {
    /// The code's case name (`"connectFailed"`), also for a code numbered as Workerman's.
    public var codeName: String { "\(code)" }

    /// By default, the code alone.
    public var descriptionParts: [String?] { [codeName] }

    public var description: String {
        var text = ""
        for case let part? in descriptionParts {
            if !text.isEmpty { text += ": " }
            text += part
        }
        return text
    }
}
