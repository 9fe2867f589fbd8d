#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which readiness backend an event loop uses, chosen at run time.
///
/// ```swift
/// let loop = try EventLoop(backend: .select)   // the portable one, limited to FD_SETSIZE descriptors
/// ```
public enum BackendKind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The best for this platform: epoll on Linux, select elsewhere.
    case automatic
    /// Linux epoll: scales to any number of descriptors.
    case epoll
    /// POSIX select: portable, refuses descriptors ≥ FD_SETSIZE (1024) with a thrown error.
    case select

    /// The backends that can actually run here (`automatic` resolved away).
    public static var available: [BackendKind] {
        #if os(Linux)
        [.epoll, .select]
        #else
        [.select]
        #endif
    }

    /// This kind with `automatic` resolved to the platform's best.
    public var resolved: BackendKind {
        guard self == .automatic else { return self }
        #if os(Linux)
        return .epoll
        #else
        return .select
        #endif
    }

    public var description: String { rawValue }

    /// Makes a backend of this kind.
    public func makeBackend() throws(Errno) -> any IOBackend {
        switch resolved {
        case .epoll:
            #if os(Linux)
            return try EpollBackend()
            #else
            throw Errno(rawValue: ENOSYS)
            #endif
        case .select, .automatic:
            return SelectBackend()
        }
    }
}
