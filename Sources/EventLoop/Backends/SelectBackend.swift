import CWorkermanShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// POSIX select(2): portable, and limited to descriptors below FD_SETSIZE. Unlike PHP's
/// `stream_select`, which silently returns false past that wall (and Workerman then busy-polls every
/// connection), registering such a descriptor throws.
public final class SelectBackend: IOBackend {
    public let name = "select"

    /// The interest sets the loop asked for; copied into the working sets before each select.
    private var wantRead = fd_set()
    private var wantWrite = fd_set()
    private var readyRead = fd_set()
    private var readyWrite = fd_set()
    /// User data per fd, valid where the fd is in `wantRead` or `wantWrite` or `registered`.
    private var userData: [UInt64]
    private var registered: [Bool]
    private var highestFD: CInt = -1

    public init() {
        userData = Array(repeating: 0, count: Int(WM_FD_SETSIZE))
        registered = Array(repeating: false, count: Int(WM_FD_SETSIZE))
        wm_fd_zero(&wantRead)
        wm_fd_zero(&wantWrite)
    }

    /// The first descriptor select cannot watch.
    public static var descriptorLimit: CInt { WM_FD_SETSIZE }

    public func register(fd: CInt, interest: IOEvents, userData data: UInt64) throws(Errno) {
        guard fd >= 0, fd < WM_FD_SETSIZE else { throw Errno.invalidArgument }
        guard Syscalls.isOpen(fd) else { throw Errno.badFileDescriptor }
        guard !registered[Int(fd)] else { throw Errno.fileExists }
        registered[Int(fd)] = true
        apply(fd: fd, interest: interest, userData: data)
        highestFD = max(highestFD, fd)
    }

    public func modify(fd: CInt, interest: IOEvents, userData data: UInt64) throws(Errno) {
        guard fd >= 0, fd < WM_FD_SETSIZE, registered[Int(fd)] else { throw Errno.noSuchFileOrDirectory }
        apply(fd: fd, interest: interest, userData: data)
    }

    public func deregister(fd: CInt) throws(Errno) {
        guard fd >= 0, fd < WM_FD_SETSIZE, registered[Int(fd)] else { throw Errno.noSuchFileOrDirectory }
        registered[Int(fd)] = false
        wm_fd_clr(fd, &wantRead)
        wm_fd_clr(fd, &wantWrite)
        while highestFD >= 0 && !registered[Int(highestFD)] { highestFD -= 1 }
    }

    public func poll(
        timeout: PollTimeout,
        into events: UnsafeMutableBufferPointer<ReadyEvent>
    ) throws(Errno) -> Int {
        readyRead = wantRead
        readyWrite = wantWrite
        var interval = timeval()
        let found: Int
        switch timeout {
        case .indefinite:
            found = try Syscalls.select(highestFD, &readyRead, &readyWrite, nil)
        case .immediate:
            found = try Syscalls.select(highestFD, &readyRead, &readyWrite, &interval)
        case .nanoseconds(let nanos):
            // Rounded up to whole microseconds so a deadline is never woken for early.
            let micros = (nanos + 999) / 1000
            interval.tv_sec = time_t(micros / 1_000_000)
            interval.tv_usec = suseconds_t(micros % 1_000_000)
            found = try Syscalls.select(highestFD, &readyRead, &readyWrite, &interval)
        }
        guard found > 0 else { return 0 }
        var stored = 0
        var fd: CInt = 0
        while fd <= highestFD && stored < events.count {
            var ready: IOEvents = []
            if wm_fd_isset(fd, &readyRead) != 0 { ready.insert(.readable) }
            if wm_fd_isset(fd, &readyWrite) != 0 { ready.insert(.writable) }
            if !ready.isEmpty {
                events[stored] = ReadyEvent(userData: userData[Int(fd)], events: ready)
                stored += 1
            }
            fd += 1
        }
        return stored
    }

    public func close() {}

    private func apply(fd: CInt, interest: IOEvents, userData data: UInt64) {
        userData[Int(fd)] = data
        if interest.contains(.readable) { wm_fd_set(fd, &wantRead) } else { wm_fd_clr(fd, &wantRead) }
        if interest.contains(.writable) { wm_fd_set(fd, &wantWrite) } else { wm_fd_clr(fd, &wantWrite) }
    }
}
