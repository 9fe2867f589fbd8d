// The epoll backend on its own: it translates interest masks, carries 64-bit user data through the kernel,
// and reports what the kernel says. The loop-level behaviour is in the EventLoop*Tests, run on every backend.

#if os(Linux)
import Testing
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Polls `backend` once into a buffer of `capacity` events.
func pollOnce(_ backend: any IOBackend, timeout: PollTimeout = .immediate, capacity: Int = 16) throws -> [ReadyEvent] {
    let buffer = UnsafeMutableBufferPointer<ReadyEvent>.allocate(capacity: capacity)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: ReadyEvent(userData: 0, events: []))
    let found = try backend.poll(timeout: timeout, into: buffer)
    return Array(buffer.prefix(found))
}

@Suite("EpollBackend")
struct EpollBackendTests {
    @Test func registerModifyDeregisterCarryTheUserData() throws {
        let backend = try EpollBackend()
        defer { backend.close() }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let (local, peer) = try fds.socketPair()
        #expect(backend.name == "epoll")

        try backend.register(fd: local, interest: .readable, userData: 0xDEAD_BEEF_0000_0001)
        #expect(try pollOnce(backend).isEmpty, "nothing to read yet")
        writeBytes(peer)
        #expect(try pollOnce(backend) == [ReadyEvent(userData: 0xDEAD_BEEF_0000_0001, events: .readable)])

        try backend.modify(fd: local, interest: .writable, userData: 0xFFFF_FFFF_FFFF_FFFF)
        #expect(try pollOnce(backend) == [ReadyEvent(userData: .max, events: .writable)])

        try backend.modify(fd: local, interest: [.readable, .writable], userData: 2)
        #expect(try pollOnce(backend) == [ReadyEvent(userData: 2, events: [.readable, .writable])])

        try backend.deregister(fd: local)
        #expect(try pollOnce(backend).isEmpty)
    }

    @Test func kernelRefusalsAreThrownAsErrno() throws {
        let backend = try EpollBackend()
        defer { backend.close() }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        try backend.register(fd: pipe.read, interest: .readable, userData: 1)
        #expect(throws: Errno.fileExists) { try backend.register(fd: pipe.read, interest: .readable, userData: 1) }
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try backend.modify(fd: pipe.write, interest: .writable, userData: 1)
        }
        #expect(throws: Errno.noSuchFileOrDirectory) { try backend.deregister(fd: pipe.write) }
        #expect(throws: Errno.badFileDescriptor) { try backend.register(fd: -1, interest: .readable, userData: 1) }
        let file = try fds.regularFile()
        #expect(throws: Errno.notPermitted) { try backend.register(fd: file, interest: .readable, userData: 1) }
        try backend.deregister(fd: pipe.read)
    }

    @Test func hangUpAndErrorRaiseTheWatchedEvents() throws {
        let backend = try EpollBackend()
        defer { backend.close() }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let (local, peer) = try fds.socketPair()
        try backend.register(fd: local, interest: .readable, userData: 7)
        try fds.close(peer)
        let events = try pollOnce(backend)
        #expect(events.count == 1)
        #expect(events.first?.userData == 7)
        #expect(events.first?.events.isSuperset(of: [.readable, .hangup]) == true, "\(events)")
        try backend.deregister(fd: local)
    }

    @Test func theEventBufferGrowsToWhatTheCallerOffers() throws {
        let backend = try EpollBackend(initialCapacity: 2)
        defer { backend.close() }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        var registered: [CInt] = []
        for index in 0..<5 {
            let event = try fds.eventFD()
            signalEventFD(event)
            try backend.register(fd: event, interest: .readable, userData: UInt64(index))
            registered.append(event)
        }
        #expect(try pollOnce(backend, capacity: 3).count == 3, "no more than the buffer holds")
        #expect(Set(try pollOnce(backend, capacity: 8).map(\.userData)) == [0, 1, 2, 3, 4])
        for fd in registered { try backend.deregister(fd: fd) }
    }

    @Test func aTimedPollWaitsAtLeastItsTimeout() throws {
        let backend = try EpollBackend()
        defer { backend.close() }
        let start = MonotonicClock.now()
        #expect(try pollOnce(backend, timeout: .nanoseconds(1_500_000)).isEmpty)
        #expect(MonotonicClock.now() - start >= 1_500_000, "rounded up, never early")
        #expect(try pollOnce(backend, timeout: .immediate).isEmpty)
    }

    @Test func closeIsIdempotentAndAClosedBackendFailsToPoll() throws {
        let backend = try EpollBackend()
        backend.close()
        backend.close()
        #expect(throws: Errno.badFileDescriptor) { try pollOnce(backend) }
    }
}
#endif
