#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX error number, thrown by the syscall wrappers.
///
/// ```swift
/// do { try Syscalls.close(fd) } catch Errno.badFileDescriptor { … }
/// ```
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: CInt

    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// `strerror(3)`'s text with the symbolic number, e.g. `Connection refused (errno 111)`.
    public var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return "\(String(cString: text)) (errno \(rawValue))"
    }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let notPermitted = Errno(rawValue: EPERM)
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    public static let systemFileTableFull = Errno(rawValue: ENFILE)
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    public static let connectionAborted = Errno(rawValue: ECONNABORTED)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
    public static let inProgress = Errno(rawValue: EINPROGRESS)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    public static let nameTooLong = Errno(rawValue: ENAMETOOLONG)
    public static let messageTooLong = Errno(rawValue: EMSGSIZE)
    public static let notConnected = Errno(rawValue: ENOTCONN)
    public static let hostUnreachable = Errno(rawValue: EHOSTUNREACH)
    public static let networkUnreachable = Errno(rawValue: ENETUNREACH)
}
