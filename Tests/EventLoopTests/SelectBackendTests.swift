// The select backend on its own: interest sets, user data per descriptor, and the FD_SETSIZE wall, which it
// refuses with an error instead of writing past its sets.

import Testing
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

@Suite("SelectBackend")
struct SelectBackendTests {
    @Test func registerModifyDeregisterCarryTheUserData() throws {
        let backend = SelectBackend()
        defer { backend.close() }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let (local, peer) = try fds.socketPair()
        #expect(backend.name == "select")

        try backend.register(fd: local, interest: .readable, userData: 0xDEAD_BEEF_0000_0001)
        #expect(try pollOnce(backend).isEmpty, "nothing to read yet")
        writeBytes(peer)
        #expect(try pollOnce(backend) == [ReadyEvent(userData: 0xDEAD_BEEF_0000_0001, events: .readable)])

        try backend.modify(fd: local, interest: .writable, userData: .max)
        #expect(try pollOnce(backend) == [ReadyEvent(userData: .max, events: .writable)])

        try backend.modify(fd: local, interest: [.readable, .writable], userData: 2)
        #expect(try pollOnce(backend) == [ReadyEvent(userData: 2, events: [.readable, .writable])])

        try backend.modify(fd: local, interest: [], userData: 3)
        #expect(try pollOnce(backend).isEmpty, "registered with no interest: never reported")

        try backend.deregister(fd: local)
        #expect(try pollOnce(backend).isEmpty)
    }

    @Test func refusalsAreThrownAsErrno() throws {
        let backend = SelectBackend()
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        #expect(SelectBackend.descriptorLimit == 1024)
        try backend.register(fd: pipe.read, interest: .readable, userData: 1)
        #expect(throws: Errno.fileExists) { try backend.register(fd: pipe.read, interest: .readable, userData: 1) }
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try backend.modify(fd: pipe.write, interest: .writable, userData: 1)
        }
        #expect(throws: Errno.noSuchFileOrDirectory) { try backend.deregister(fd: pipe.write) }
        #expect(throws: Errno.invalidArgument) { try backend.register(fd: -1, interest: .readable, userData: 1) }
        #expect(throws: Errno.invalidArgument) { try backend.register(fd: 1024, interest: .readable, userData: 1) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try backend.modify(fd: 5000, interest: .readable, userData: 1) }
        let closed = try fds.moveAbove(880, pipe.write)
        try fds.close(closed)
        #expect(throws: Errno.badFileDescriptor) { try backend.register(fd: closed, interest: .readable, userData: 1) }
        try backend.deregister(fd: pipe.read)
    }

    @Test func eventsComeInDescriptorOrderAndFitTheBuffer() throws {
        let backend = SelectBackend()
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        var registered: [CInt] = []
        for _ in 0..<4 {
            let event = try fds.eventFD()
            signalEventFD(event)
            try backend.register(fd: event, interest: .readable, userData: UInt64(event))
            registered.append(event)
        }
        let all = try pollOnce(backend).map(\.userData)
        #expect(all == registered.sorted().map { UInt64($0) })
        #expect(try pollOnce(backend, capacity: 2).map(\.userData) == Array(all.prefix(2)))
        for fd in registered { try backend.deregister(fd: fd) }
    }

    @Test func aDescriptorClosedWhileRegisteredFailsThePoll() throws {
        let backend = SelectBackend()
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        let doomed = try fds.moveAbove(890, pipe.read)
        try backend.register(fd: doomed, interest: .readable, userData: 1)
        try fds.close(doomed)
        #expect(throws: Errno.badFileDescriptor) { try pollOnce(backend) }
        try backend.deregister(fd: doomed)
        #expect(try pollOnce(backend).isEmpty, "fine again once it is out of the set")
    }

    @Test func aTimedPollWaitsAtLeastItsTimeout() throws {
        let backend = SelectBackend()
        let start = MonotonicClock.now()
        #expect(try pollOnce(backend, timeout: .nanoseconds(1_500_000)).isEmpty)
        #expect(MonotonicClock.now() - start >= 1_500_000, "never early")
        #expect(try pollOnce(backend, timeout: .immediate).isEmpty)
    }
}
