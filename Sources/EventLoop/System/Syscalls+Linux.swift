#if os(Linux)
import CWorkermanShims
import Glibc

// Linux-only syscalls: epoll, eventfd and inotify.
extension Syscalls {
    /// Wraps `inotify_init1(2)`, non-blocking and close-on-exec.
    package static func inotifyCreate() throws(Errno) -> CInt {
        try retrying("inotify_init1") { inotify_init1(CInt(IN_NONBLOCK | IN_CLOEXEC)) }
    }

    /// Wraps `inotify_add_watch(2)`: the watch descriptor (the same one again for a path already watched).
    package static func inotifyAddWatch(_ fd: CInt, _ path: String, mask: UInt32) throws(Errno) -> CInt {
        try retrying("inotify_add_watch") { inotify_add_watch(fd, path, mask) }
    }

    /// Wraps `eventfd(2)`, non-blocking and close-on-exec.
    package static func eventfd() throws(Errno) -> CInt {
        try retrying("eventfd") { CWorkermanShims.eventfd(0, WM_EFD_NONBLOCK | WM_EFD_CLOEXEC) }
    }

    /// Wraps `epoll_create1(2)` with `EPOLL_CLOEXEC`.
    package static func epollCreate() throws(Errno) -> CInt {
        try retrying("epoll_create1") { CWorkermanShims.epoll_create1(CInt(EPOLL_CLOEXEC)) }
    }

    /// Wraps `epoll_ctl(2)`.
    package static func epollControl(
        _ epfd: CInt,
        _ operation: CInt,
        _ fd: CInt,
        events: UInt32,
        data: UInt64
    ) throws(Errno) {
        _ = try retrying("epoll_ctl") { wm_epoll_ctl(epfd, operation, fd, events, data) }
    }

    /// Wraps `epoll_wait(2)`; an interrupted wait returns 0 events (the caller loops anyway).
    package static func epollWait(
        _ epfd: CInt,
        _ buffer: UnsafeMutableRawPointer,
        _ capacity: CInt,
        timeoutMilliseconds: CInt
    ) throws(Errno) -> Int {
        let result = wm_epoll_wait(epfd, buffer, capacity, timeoutMilliseconds)
        if result >= 0 { return Int(result) }
        let error = Errno(rawValue: wm_errno())
        if error == .interrupted { return 0 }
        throw error
    }
}
#endif
