/// An error the event loop throws: what went wrong (`code`), on what, and the system's cause if any.
///
/// ```swift
/// do { try loop.watch(fd, for: .readable) { _ in } }
/// catch let error as EventLoopError where error.code == .alreadyWatched { … }
/// ```
public struct EventLoopError: CodedError {
    /// The kinds of failure, stable for matching.
    public enum Code: String, Hashable, Sendable {
        /// The descriptor is negative, closed, or of a kind the backend cannot watch.
        case invalidDescriptor
        /// The descriptor is already watched by this loop.
        case alreadyWatched
        /// The descriptor is not watched by this loop.
        case notWatched
        /// The select backend cannot watch descriptors ≥ FD_SETSIZE.
        case descriptorOutOfRange
        /// A timer interval that is negative, not a number, infinite, or zero for a repeating timer.
        case invalidInterval
        /// The signal number is out of range or cannot be caught, or another loop in this process has it.
        case signalUnavailable
        /// The loop is closed.
        case loopClosed
        /// The readiness backend failed.
        case backendFailure
    }

    public let code: Code
    /// What was being done, naming the descriptor, timer or signal, e.g. `watch fd 12`.
    public let operation: String
    /// The system's reason, when there is one.
    public let cause: Errno?
    /// Extra words on the reason.
    public let detail: String?

    public init(_ code: Code, _ operation: String, cause: Errno? = nil, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.cause = cause
        self.detail = detail
    }

    /// `watch fd 12: alreadyWatched (why): cause`.
    public var descriptionParts: [String?] {
        [operation, code.rawValue + (detail.map { " (\($0))" } ?? ""), cause?.description]
    }
}

/// A user callback threw: the loop hands this to its error handler and keeps running.
public struct CallbackFailure: Error, CustomStringConvertible {
    /// Which kind of callback threw, e.g. `.timer`.
    public let callback: ActivityCallback
    /// The fd, timer id or signal it ran for.
    public let subject: UInt64
    public let error: any Error

    public init(callback: ActivityCallback, subject: UInt64, error: any Error) {
        self.callback = callback
        self.subject = subject
        self.error = error
    }

    public var description: String { "error in \(callback) callback for \(subject): \(error)" }
}
