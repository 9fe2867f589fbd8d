#if os(Linux)
import CWorkermanShims
import Glibc

/// Linux epoll, level-triggered. The user data travels in `epoll_event.data.u64`, so the loop can put
/// (fd, generation) there and drop events for an fd that was closed and reused (NIO's `EPollUserData`).
public final class EpollBackend: IOBackend {
    public let name = "epoll"

    private var epfd: CInt
    /// Raw `struct epoll_event` records, filled by the kernel; read through the shim (the struct is packed).
    private var rawEvents: UnsafeMutableRawPointer
    private var rawCapacity: Int
    private static let eventSize = Int(wm_epoll_event_size())

    public init(initialCapacity: Int = 256) throws(Errno) {
        epfd = try Syscalls.epollCreate()
        rawCapacity = initialCapacity
        rawEvents = .allocate(byteCount: initialCapacity * Self.eventSize, alignment: 8)
    }

    deinit {
        close()
        rawEvents.deallocate()
    }

    public func register(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno) {
        try Syscalls.epollControl(epfd, WM_EPOLL_CTL_ADD, fd, events: Self.mask(interest), data: userData)
    }

    public func modify(fd: CInt, interest: IOEvents, userData: UInt64) throws(Errno) {
        try Syscalls.epollControl(epfd, WM_EPOLL_CTL_MOD, fd, events: Self.mask(interest), data: userData)
    }

    public func deregister(fd: CInt) throws(Errno) {
        try Syscalls.epollControl(epfd, WM_EPOLL_CTL_DEL, fd, events: 0, data: 0)
    }

    public func poll(
        timeout: PollTimeout,
        into events: UnsafeMutableBufferPointer<ReadyEvent>
    ) throws(Errno) -> Int {
        let wanted = min(events.count, Int(CInt.max))
        if wanted > rawCapacity { grow(to: wanted) }
        let found = try Syscalls.epollWait(
            epfd,
            rawEvents,
            CInt(wanted),
            timeoutMilliseconds: timeout.milliseconds
        )
        for index in 0..<found {
            let flags = wm_epoll_event_flags(rawEvents, CInt(index))
            events[index] = ReadyEvent(
                userData: wm_epoll_event_data(rawEvents, CInt(index)),
                events: Self.events(flags)
            )
        }
        return found
    }

    public func close() {
        guard epfd >= 0 else { return }
        try? Syscalls.close(epfd)  // close of our own epoll fd cannot fail in a way we could act on
        epfd = -1
    }

    private func grow(to capacity: Int) {
        rawEvents.deallocate()
        rawEvents = .allocate(byteCount: capacity * Self.eventSize, alignment: 8)
        rawCapacity = capacity
    }

    @inline(__always)
    private static func mask(_ interest: IOEvents) -> UInt32 {
        var mask: UInt32 = 0
        if interest.contains(.readable) { mask |= WM_EPOLLIN | WM_EPOLLRDHUP }
        if interest.contains(.writable) { mask |= WM_EPOLLOUT }
        return mask
    }

    /// Error and hang-up also raise readable/writable, so the next read or write reports what happened
    /// (as libuv does); the loop masks the result with the fd's interest.
    @inline(__always)
    private static func events(_ flags: UInt32) -> IOEvents {
        var events: IOEvents = []
        if flags & WM_EPOLLIN != 0 { events.insert(.readable) }
        if flags & WM_EPOLLOUT != 0 { events.insert(.writable) }
        if flags & (WM_EPOLLHUP | WM_EPOLLRDHUP) != 0 { events.formUnion([.hangup, .readable]) }
        if flags & WM_EPOLLHUP != 0 { events.insert(.writable) }
        if flags & WM_EPOLLERR != 0 { events.formUnion([.error, .readable, .writable]) }
        return events
    }
}
#endif
