import CWorkermanShims
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the socket calls, one per syscall: EINTR retried, EAGAIN a result,
/// errors thrown as `Errno`.
package enum SocketCalls {
    /// Wraps `socket(2)`, non-blocking and close-on-exec.
    package static func socket(domain: CInt, type: CInt) throws(Errno) -> CInt {
        try Syscalls.retrying("socket") {
            Glibc.socket(domain, type | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        }
    }

    /// Wraps `setsockopt(2)` for an integer option.
    package static func setOption(_ fd: CInt, _ level: CInt, _ name: CInt, _ value: CInt) throws(Errno) {
        var value = value
        _ = try Syscalls.retrying("setsockopt") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<CInt>.size))
        }
    }

    /// Wraps `getsockopt(2)` for an integer option.
    package static func option(_ fd: CInt, _ level: CInt, _ name: CInt) throws(Errno) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        _ = try Syscalls.retrying("getsockopt") { getsockopt(fd, level, name, &value, &length) }
        return value
    }

    /// Wraps `bind(2)`.
    package static func bind(_ fd: CInt, _ address: SocketAddress) throws(Errno) {
        _ = try address.withSockAddr { (pointer, length) throws(Errno) in
            try Syscalls.retrying("bind") { Glibc.bind(fd, pointer, length) }
        }
    }

    /// Wraps `listen(2)`.
    package static func listen(_ fd: CInt, backlog: CInt) throws(Errno) {
        _ = try Syscalls.retrying("listen") { Glibc.listen(fd, backlog) }
    }

    /// Wraps `accept4(2)` (non-blocking, close-on-exec): the new descriptor and the peer's address.
    package static func accept(_ fd: CInt) throws(Errno) -> IOResult<(CInt, SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(Errno) in
                try Syscalls.retryingNonBlocking("accept4") {
                    wm_accept_nonblocking(fd, address, &length)
                }
            }
        }
        guard case .processed(let client) = result else { return .wouldBlock }
        return .processed((client, SocketAddress(storage: storage, length: length)))
    }

    /// Wraps `connect(2)` on a non-blocking socket: true when connected at once, false when in progress.
    package static func connect(_ fd: CInt, _ address: SocketAddress) throws(Errno) -> Bool {
        let result = address.withSockAddr { pointer, length in Glibc.connect(fd, pointer, length) }
        if result == 0 { return true }
        let error = Errno(rawValue: wm_errno())
        if error == .inProgress || error == .interrupted { return false }
        throw error
    }

    /// Wraps `getsockname(2)`.
    package static func localAddress(_ fd: CInt) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage, length: length) : nil
    }

    /// Wraps `getpeername(2)`.
    package static func remoteAddress(_ fd: CInt) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage, length: length) : nil
    }

    /// Wraps `writev(2)`; `MSG_NOSIGNAL` is not available for writev, so SIGPIPE is ignored process-wide
    /// by `ignoreBrokenPipe()`.
    @inline(__always)
    package static func writev(_ fd: CInt, _ vectors: UnsafePointer<iovec>, _ count: Int) throws(Errno) -> IOResult<Int> {
        try Syscalls.retryingNonBlocking("writev") { Glibc.writev(fd, vectors, CInt(count)) }
    }

    /// Wraps `send(2)` with `MSG_NOSIGNAL`.
    @inline(__always)
    package static func send(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        try Syscalls.retryingNonBlocking("send") {
            Glibc.send(fd, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL))
        }
    }

    /// Wraps `recvfrom(2)`: the byte count and the sender.
    package static func receive(
        _ fd: CInt,
        _ buffer: UnsafeMutableRawPointer,
        _ capacity: Int
    ) throws(Errno) -> IOResult<(Int, SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(Errno) in
                try Syscalls.retryingNonBlocking("recvfrom") {
                    recvfrom(fd, buffer, capacity, CInt(MSG_TRUNC), address, &length)
                }
            }
        }
        guard case .processed(let count) = result else { return .wouldBlock }
        return .processed((count, length > 0 ? SocketAddress(storage: storage, length: length) : nil))
    }

    /// Wraps `sendto(2)` with `MSG_NOSIGNAL`; a nil address sends on a connected socket.
    package static func sendTo(
        _ fd: CInt,
        _ bytes: UnsafeRawBufferPointer,
        _ address: SocketAddress?
    ) throws(Errno) -> IOResult<Int> {
        guard let address else { return try send(fd, bytes) }
        return try address.withSockAddr { (pointer, length) throws(Errno) in
            try Syscalls.retryingNonBlocking("sendto") {
                sendto(fd, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL), pointer, length)
            }
        }
    }

    /// Wraps `shutdown(2)`.
    package static func shutdown(_ fd: CInt, _ how: CInt) {
        _ = Glibc.shutdown(fd, how)  // ENOTCONN after a peer reset is expected and harmless
    }

    /// Ignores SIGPIPE for the process once: a write to a reset peer then fails with EPIPE instead of
    /// killing the process. Every server does this (Workerman too, through PHP).
    package static func ignoreBrokenPipe() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
