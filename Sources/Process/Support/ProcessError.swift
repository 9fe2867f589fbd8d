import WorkermanEventLoop

/// An error of the process layer: the code, what was being done (with the file, address or pid), and the
/// system's cause.
public struct ProcessError: CodedError {
    public enum Code: String, Hashable, Sendable {
        /// A command or flag the CLI does not know (exit code 2).
        case usage
        /// `start` while a master runs.
        case alreadyRunning
        /// A command for a master that is not running.
        case notRunning
        /// A pid, log, status or stdout file that cannot be written.
        case fileUnwritable
        /// A listen address that does not parse, or cannot be bound.
        case listenFailed
        /// A child that could not be started.
        case spawnFailed
        /// A child that finds no worker matching its role.
        case noSuchWorker
        /// `stop` did not finish in time.
        case stopFailed
        /// User or group switching failed.
        case userSwitchFailed
        /// A setting with a value it cannot have (a limit of 0).
        case invalidSetting
    }

    public let code: Code
    public let operation: String
    public let cause: Errno?
    public let detail: String?

    public init(_ code: Code, _ operation: String, cause: Errno? = nil, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.cause = cause
        self.detail = detail
    }

    public var descriptionParts: [String?] { [operation, detail, cause?.description] }
}
