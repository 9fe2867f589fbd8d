import CWorkermanShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The result of a non-blocking call: done with a value, or it would have blocked (EAGAIN is a result,
/// not an error).
public enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

extension IOResult: Sendable where Value: Sendable {}
extension IOResult: Equatable where Value: Equatable {}

/// Thin wrappers, one per syscall. Each reads `errno` at once, retries EINTR, returns `.wouldBlock`
/// for EAGAIN where the call can block, throws `Errno` for the rest, and traps on EBADF/EFAULT from
/// calls on descriptors we own: those are our bugs, not the peer's.
package enum Syscalls {
    /// Calls `body` until it does not fail with EINTR; a negative result throws the errno.
    @inline(__always)
    package static func retrying<T: BinaryInteger>(
        _ operation: StaticString,
        _ body: () -> T
    ) throws(Errno) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let error = Errno(rawValue: wm_errno())
            if error == .interrupted { continue }
            try rejectUnacceptable(error, operation)
            throw error
        }
    }

    /// As `retrying`, but EAGAIN becomes `.wouldBlock`.
    @inline(__always)
    package static func retryingNonBlocking<T: BinaryInteger>(
        _ operation: StaticString,
        _ body: () -> T
    ) throws(Errno) -> IOResult<T> {
        while true {
            let result = body()
            if result >= 0 { return .processed(result) }
            let error = Errno(rawValue: wm_errno())
            if error == .interrupted { continue }
            if error == .wouldBlock || error.rawValue == EWOULDBLOCK { return .wouldBlock }
            try rejectUnacceptable(error, operation)
            throw error
        }
    }

    /// EFAULT means we passed a bad pointer: a bug here, never recoverable.
    @inline(__always)
    private static func rejectUnacceptable(_ error: Errno, _ operation: StaticString) throws(Errno) {
        if error.rawValue == EFAULT {
            preconditionFailure("\(operation) failed with \(error): a bug in Workerman")
        }
    }

    /// Wraps `close(2)`. EINTR is not retried: on Linux the descriptor is released either way.
    package static func close(_ fd: CInt) throws(Errno) {
        if Glibc.close(fd) != 0 {
            let error = Errno(rawValue: wm_errno())
            if error == .interrupted { return }
            throw error
        }
    }

    /// Wraps `read(2)`.
    @inline(__always)
    package static func read(
        _ fd: CInt,
        _ buffer: UnsafeMutableRawPointer,
        _ count: Int
    ) throws(Errno) -> IOResult<Int> {
        try retryingNonBlocking("read") { Glibc.read(fd, buffer, count) }
    }

    /// Wraps `write(2)`.
    @inline(__always)
    package static func write(
        _ fd: CInt,
        _ buffer: UnsafeRawPointer,
        _ count: Int
    ) throws(Errno) -> IOResult<Int> {
        try retryingNonBlocking("write") { Glibc.write(fd, buffer, count) }
    }

    /// Wraps `pipe2(2)` with `O_NONBLOCK | O_CLOEXEC`: returns (read end, write end).
    package static func pipe() throws(Errno) -> (read: CInt, write: CInt) {
        var fds: (CInt, CInt) = (-1, -1)
        _ = try withUnsafeMutableBytes(of: &fds) { (raw) throws(Errno) in
            try retrying("pipe2") {
                wm_pipe_nonblocking(raw.baseAddress!.assumingMemoryBound(to: CInt.self))
            }
        }
        return (fds.0, fds.1)
    }

    /// Wraps `fcntl(2)` with `F_GETFD`: whether `fd` is an open descriptor.
    package static func isOpen(_ fd: CInt) -> Bool {
        fd >= 0 && fcntl(fd, F_GETFD) != -1
    }


    /// Wraps `poll(2)` for one descriptor, for code that blocks on purpose (a client for scripts, not for
    /// a loop): whether `fd` became ready for `events` within `timeoutMilliseconds`. An interrupted wait
    /// returns false (the caller checks its deadline and waits again).
    package static func waitUntilReady(_ fd: CInt, events: Int16, timeoutMilliseconds: CInt) throws(Errno) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let result = Glibc.poll(&entry, 1, timeoutMilliseconds)
        if result >= 0 { return result > 0 }
        let error = Errno(rawValue: wm_errno())
        if error == .interrupted { return false }
        throw error
    }

    /// Wraps `select(2)`; an interrupted wait returns 0 (the caller loops anyway).
    package static func select(
        _ highestFD: CInt,
        _ readSet: UnsafeMutablePointer<fd_set>,
        _ writeSet: UnsafeMutablePointer<fd_set>,
        _ timeout: UnsafeMutablePointer<timeval>?
    ) throws(Errno) -> Int {
        let result = Glibc.select(highestFD + 1, readSet, writeSet, nil, timeout)
        if result >= 0 { return Int(result) }
        let error = Errno(rawValue: wm_errno())
        if error == .interrupted { return 0 }
        throw error
    }
}
