// Watching descriptors: read/write interest on real pipes, socket pairs and eventfds on every backend; the
// registration table's generations against stale events; empty interest; bad input.
//
// Tests that close a watched descriptor, or need a closed number to stay free, move their descriptors to
// numbers far above what tests running in parallel are handed (see `OpenDescriptors.moveAbove`), each test
// and backend in its own range.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("EventLoop descriptors")
struct EventLoopDescriptorTests {
    // MARK: - Readiness on real descriptors

    @Test(arguments: BackendKind.available)
    func readableInterestOnAPipe(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        let watchdog = try Watchdog(loop)
        var received: [IOEvents] = []
        var bytes = 0
        try loop.watch(pipe.read, for: .readable) { events in
            received.append(events)
            bytes += drain(pipe.read)
            loop.unwatch(pipe.read)
            loop.stop()
        }
        #expect(loop.watchedCount == 1)
        #expect(loop.interest(for: pipe.read) == .readable)
        writeBytes(pipe.write, count: 3)

        try loop.run(.untilStopped)

        watchdog.disarm()
        #expect(!watchdog.fired)
        #expect(received == [.readable])
        #expect(bytes == 3)
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func readAndWriteInterestOnASocketPair(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let (local, peer) = try fds.socketPair()
        var received: [IOEvents] = []
        try loop.watch(local, for: .writable) { events in
            received.append(events)
            if events.contains(.readable) { drain(local) }
        }

        try tickWithoutBlocking(loop)
        #expect(received == [.writable], "a fresh socket has room to write")

        received.removeAll()
        try loop.setInterest(.readable, for: local)
        #expect(loop.interest(for: local) == .readable)
        try tickWithoutBlocking(loop)
        #expect(received.isEmpty, "writable is no longer asked for, nothing to read yet")

        writeBytes(peer, count: 10)
        try tickWithoutBlocking(loop)
        #expect(received == [.readable])

        received.removeAll()
        try loop.setInterest([.readable, .writable], for: local)
        writeBytes(peer)
        try tickWithoutBlocking(loop)
        #expect(received == [[.readable, .writable]], "one call with both")

        received.removeAll()
        #expect(loop.unwatch(local))
        writeBytes(peer)
        try tickWithoutBlocking(loop)
        #expect(received.isEmpty, "unwatched: no more calls, though readable and writable")
        #expect(!loop.unwatch(local), "a second unwatch does nothing")
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func eventFDIsReadableWhenSignalled(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let event = try fds.eventFD()
        var counters: [UInt64] = []
        try loop.watch(event, for: .readable) { _ in
            var counter: UInt64 = 0
            if read(event, &counter, 8) == 8 { counters.append(counter) }
        }
        try tickWithoutBlocking(loop)
        #expect(counters.isEmpty)
        signalEventFD(event)
        signalEventFD(event)
        try tickWithoutBlocking(loop)
        #expect(counters == [2])
        try tickWithoutBlocking(loop)
        #expect(counters == [2], "read reset it")
        loop.unwatch(event)
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func readinessIsLevelTriggered(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        var calls = 0
        try loop.watch(pipe.read, for: .readable) { _ in calls += 1 }
        writeBytes(pipe.write, count: 2)
        try tickWithoutBlocking(loop)
        try tickWithoutBlocking(loop)
        #expect(calls == 2, "called again while data is left")
        drain(pipe.read)
        try tickWithoutBlocking(loop)
        #expect(calls == 2)
        loop.unwatch(pipe.read)
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func peerHangUpIsReported(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let (local, peer) = try fds.socketPair()
        var received: [IOEvents] = []
        var readResult: Int?
        try loop.watch(local, for: .readable) { events in
            received.append(events)
            var byte: UInt8 = 0
            readResult = read(local, &byte, 1)
            loop.unwatch(local)
        }
        try fds.close(peer)
        try tickWithoutBlocking(loop)
        let events = try #require(received.first)
        #expect(received.count == 1)
        #expect(events.contains(.readable), "so the read reports the end of the stream")
        if kind == .epoll { #expect(events.contains(.hangup)) }
        #expect(readResult == 0)
        expectNoLeaks(loop)
    }

    // MARK: - Empty interest

    @Test(arguments: BackendKind.available)
    func emptyInterestPausesAWatcherWithoutForgettingIt(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        var calls = 0
        try loop.watch(pipe.read, for: .readable) { _ in calls += 1 }
        writeBytes(pipe.write)
        try loop.setInterest([], for: pipe.read)
        try tickWithoutBlocking(loop)
        #expect(calls == 0, "paused, though readable")
        #expect(loop.interest(for: pipe.read) == [])
        #expect(loop.watchedCount == 1)

        try loop.setInterest(.readable, for: pipe.read)
        try tickWithoutBlocking(loop)
        #expect(calls == 1, "resumed")
        loop.unwatch(pipe.read)
        expectNoLeaks(loop)
    }

    @Test(arguments: BackendKind.available)
    func watchingWithEmptyInterestThenAskingForReadiness(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let event = try fds.eventFD()
        signalEventFD(event)
        var calls = 0
        try loop.watch(event, for: []) { _ in calls += 1 }
        try tickWithoutBlocking(loop)
        #expect(calls == 0)
        try loop.setInterest(.readable, for: event)
        try tickWithoutBlocking(loop)
        #expect(calls == 1)
        loop.unwatch(event)
        expectNoLeaks(loop)
    }

    @Test func emptyInterestTakesTheDescriptorOutOfTheBackend() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        let fd: CInt = 5000  // a scripted backend needs no real descriptor while the interest is not empty
        let before = backend.operations.count
        try loop.watch(fd, for: .readable) { _ in }
        try loop.setInterest([], for: fd)
        #expect(backend.registered[fd] == nil)
        try loop.setInterest([], for: fd)  // unchanged: no call
        try loop.setInterest(.writable, for: fd)
        #expect(backend.registered[fd]?.interest == .writable)
        try loop.setInterest(.writable, for: fd)  // unchanged: no call
        try loop.setInterest([.readable, .writable], for: fd)
        try loop.setInterest([], for: fd)
        loop.unwatch(fd)  // paused: nothing left to take out
        try loop.watch(fd, for: .readable) { _ in }
        loop.unwatch(fd)

        #expect(
            Array(backend.operations.dropFirst(before)) == [
                "register 5000 [readable]",
                "deregister 5000",
                "register 5000 [writable]",
                "modify 5000 [readable, writable]",
                "deregister 5000",
                "register 5000 [readable]",
                "deregister 5000",
            ]
        )
        expectNoLeaks(loop)
    }

    @Test func onlyTheWatchableEventsAreInterest() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        try loop.watch(5001, for: [.readable, .hangup, .error]) { _ in }
        #expect(loop.interest(for: 5001) == .readable)
        #expect(backend.registered[5001]?.interest == .readable)
        loop.unwatch(5001)
        expectNoLeaks(loop)
    }

    @Test func eventsAreMaskedWithTheInterestPlusErrorAndHangUp() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        var received: [IOEvents] = []
        try loop.watch(5002, for: .readable) { received.append($0) }
        backend.script([(fd: 5002, events: .writable)])  // not asked for: dropped
        backend.script([(fd: 5002, events: [.readable, .writable, .error, .hangup])])
        try loop.tick()
        try loop.tick()
        #expect(received == [[.readable, .error, .hangup]])
        loop.unwatch(5002)
        expectNoLeaks(loop)
    }

    // MARK: - Stale events

    @Test func anEventCarryingAnOldGenerationIsDropped() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        var calls: [String] = []
        try loop.watch(5003, for: .readable) { _ in calls.append("old") }
        let old = try #require(backend.registered[5003]).userData
        loop.unwatch(5003)
        try loop.watch(5003, for: .readable) { _ in calls.append("new") }
        let current = try #require(backend.registered[5003]).userData
        #expect(old != current)

        backend.script([(fd: 5003, events: .readable)])
        backend.scriptRaw([ReadyEvent(userData: old, events: .readable)])
        backend.scriptRaw([
            ReadyEvent(userData: old, events: .readable),
            ReadyEvent(userData: current, events: .readable),
        ])
        try loop.tick()
        #expect(calls == ["new"], "the current registration's event")
        try loop.tick()
        #expect(calls == ["new"], "the old registration's event reached no one")
        try loop.tick()
        #expect(calls == ["new", "new"], "the stale one dropped, the live one delivered")
        #expect(backend.pendingScripts == 0)
        loop.unwatch(5003)
        expectNoLeaks(loop)
    }

    @Test func anEventForADescriptorUnwatchedEarlierInTheTickIsDropped() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        var calls: [CInt] = []
        try loop.watch(5004, for: .readable) { _ in
            calls.append(5004)
            loop.unwatch(5005)
        }
        try loop.watch(5005, for: .readable) { _ in calls.append(5005) }
        backend.script([(fd: 5004, events: .readable), (fd: 5005, events: .readable)])
        try loop.tick()
        #expect(calls == [5004])
        loop.unwatch(5004)
        expectNoLeaks(loop)
    }

    /// Whichever of two ready descriptors is called first unwatches the other: the other's event, already in
    /// this tick's batch, must be dropped (the order depends on the backend, so both callbacks do it).
    @Test(arguments: BackendKind.available)
    func aCallbackThatUnwatchesAnotherReadyDescriptorIsSafe(kind: BackendKind) throws {
        let (loop, probe) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let first = try fds.pipe()
        let second = try fds.pipe()
        writeBytes(first.write)
        writeBytes(second.write)
        var calls: [CInt] = []
        try loop.watch(first.read, for: .readable) { _ in
            calls.append(first.read)
            #expect(loop.unwatch(second.read))
        }
        try loop.watch(second.read, for: .readable) { _ in
            calls.append(second.read)
            #expect(loop.unwatch(first.read))
        }
        try tickWithoutBlocking(loop)
        #expect(Set(probe.lastPolledDescriptors).isSuperset(of: [first.read, second.read]), "both in one batch")
        #expect(calls.count == 1)
        #expect(loop.watchedCount == 1)
        if let survivor = calls.first { loop.unwatch(survivor) }
        expectNoLeaks(loop)
    }

    /// The real thing: in one tick, the first callback unwatches and closes the other ready descriptor, and
    /// opens a new one that gets the same number. The old event in this tick's batch must not reach the new
    /// watcher (it is called in the next tick, for its own readiness).
    @Test(arguments: BackendKind.available)
    func aStaleEventForAClosedAndReusedDescriptorIsNeverDelivered(kind: BackendKind) throws {
        let (loop, probe) = try makeLoop(kind)
        var errors: [any Error] = []
        loop.errorHandler = { errors.append($0) }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let base: CInt = kind == .epoll ? 700 : 740
        let first = try fds.pipe()
        let second = try fds.pipe()
        let replacement = try fds.pipe()
        let one = try fds.moveAbove(base, first.read)
        let two = try fds.moveAbove(base, second.read)
        writeBytes(first.write)
        writeBytes(second.write)
        writeBytes(replacement.write)  // the new descriptor is ready too: a misrouted event would call it

        var oldCalls: [CInt] = []
        var newCalls: [Int] = []  // poll numbers
        var reused: CInt?
        func takeOver(_ other: CInt) throws {
            loop.unwatch(other)
            try fds.close(other)
            let number = try fds.moveAbove(other, replacement.read)
            try #require(number == other, "the freed number is the lowest free one at or above itself")
            reused = number
            try loop.watch(number, for: .readable) { _ in
                newCalls.append(probe.polls.count)
                drain(number)
            }
        }
        try loop.watch(one, for: .readable) { _ in
            oldCalls.append(one)
            drain(one)
            try takeOver(two)
        }
        try loop.watch(two, for: .readable) { _ in
            oldCalls.append(two)
            drain(two)
            try takeOver(one)
        }

        try tickWithoutBlocking(loop)
        #expect(Set(probe.lastPolledDescriptors).isSuperset(of: [one, two]), "both in one batch")
        #expect(oldCalls.count == 1)
        #expect(reused != nil)
        #expect(newCalls.isEmpty, "the closed descriptor's event reached the new one")

        try tickWithoutBlocking(loop)
        #expect(newCalls == [2], "the new watcher gets its own readiness, next tick")
        #expect(oldCalls.count == 1)
        #expect(errors.isEmpty, "\(errors)")

        if let survivor = oldCalls.first { loop.unwatch(survivor) }
        if let reused { loop.unwatch(reused) }
        expectNoLeaks(loop)
    }

    // MARK: - Callbacks that throw

    @Test(arguments: BackendKind.available)
    func aThrowingWatcherIsReportedAndTheLoopGoesOn(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        var reported: [any Error] = []
        loop.errorHandler = { reported.append($0) }
        var calls = 0
        try loop.watch(pipe.read, for: .readable) { _ in
            calls += 1
            throw TestFailure("io")
        }
        writeBytes(pipe.write)
        try tickWithoutBlocking(loop)
        try tickWithoutBlocking(loop)
        #expect(calls == 2, "still watched after throwing")
        #expect(loop.callbackErrorCount == 2)
        let failure = try #require(reported.first as? CallbackFailure)
        #expect(failure.callback == .io)
        #expect(failure.subject == UInt64(pipe.read))
        #expect(failure.error as? TestFailure == TestFailure("io"))
        loop.unwatch(pipe.read)
        expectNoLeaks(loop)
    }

    // MARK: - Closed while watched

    /// select fails whole (EBADF) when one watched descriptor was closed: the loop drops that one, says so
    /// through the error handler, and keeps serving the others.
    @Test func selectRecoversFromADescriptorClosedWhileWatched() throws {
        let (loop, _) = try makeLoop(.select)
        var reported: [any Error] = []
        loop.errorHandler = { reported.append($0) }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let doomed = try fds.pipe()
        let healthy = try fds.pipe()
        let closed = try fds.moveAbove(800, doomed.read)
        var healthyCalls = 0
        try loop.watch(closed, for: .readable) { _ in Issue.record("a closed descriptor's watcher was called") }
        try loop.watch(healthy.read, for: .readable) { _ in
            healthyCalls += 1
            drain(healthy.read)
        }
        try fds.close(closed)  // without unwatching: a bug in the caller
        writeBytes(healthy.write)

        try tickWithoutBlocking(loop)
        #expect(reported.count == 1)
        let error = try #require(reported.first as? EventLoopError)
        #expect(error.code == .invalidDescriptor)
        #expect(error.description.contains("\(closed)"), "names the descriptor: \(error)")
        #expect(loop.interest(for: closed) == nil, "dropped")
        #expect(loop.watchedCount == 1)

        try tickWithoutBlocking(loop)
        #expect(healthyCalls == 1, "the others are still served")
        #expect(reported.count == 1)
        loop.unwatch(healthy.read)
        expectNoLeaks(loop)
    }

    /// epoll forgets a closed descriptor by itself; unwatching it afterwards is still safe.
    @Test func epollForgetsADescriptorClosedWhileWatched() throws {
        let (loop, _) = try makeLoop(.epoll)
        var reported: [any Error] = []
        loop.errorHandler = { reported.append($0) }
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        let closed = try fds.moveAbove(820, pipe.read)
        writeBytes(pipe.write)
        try loop.watch(closed, for: .readable) { _ in Issue.record("a closed descriptor's watcher was called") }
        try fds.close(closed)
        try tickWithoutBlocking(loop)
        #expect(loop.unwatch(closed))
        #expect(reported.isEmpty)
        expectNoLeaks(loop)
    }

    // MARK: - Bad input

    @Test(arguments: BackendKind.available)
    func badDescriptorsAreRefused(kind: BackendKind) throws {
        let (loop, _) = try makeLoop(kind)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }

        var error = #expect(throws: EventLoopError.self) { try loop.watch(-1, for: .readable) { _ in } }
        #expect(error?.code == .invalidDescriptor)
        #expect(error?.description.contains("fd -1") == true, "\(String(describing: error))")

        // A closed descriptor, at a number nobody else is handed meanwhile.
        let pipe = try fds.pipe()
        let closed = try fds.moveAbove(kind == .epoll ? 850 : 870, pipe.read)
        try fds.close(closed)
        for interest in [IOEvents.readable, []] {
            error = #expect(throws: EventLoopError.self) { try loop.watch(closed, for: interest) { _ in } }
            #expect(error?.code == .invalidDescriptor)
            #expect(error?.cause == .badFileDescriptor)
            #expect(error?.description.contains("fd \(closed)") == true, "\(String(describing: error))")
        }

        try loop.watch(pipe.write, for: .writable) { _ in }
        error = #expect(throws: EventLoopError.self) { try loop.watch(pipe.write, for: .readable) { _ in } }
        #expect(error?.code == .alreadyWatched)
        #expect(error?.description.contains("fd \(pipe.write)") == true)
        #expect(loop.interest(for: pipe.write) == .writable, "the first registration is untouched")
        loop.unwatch(pipe.write)

        error = #expect(throws: EventLoopError.self) { try loop.setInterest(.readable, for: pipe.write) }
        #expect(error?.code == .notWatched)
        #expect(loop.interest(for: pipe.write) == nil)

        #expect(loop.watchedCount == 0, "failed watches leave nothing behind")
        expectNoLeaks(loop)

        error = #expect(throws: EventLoopError.self) { try loop.watch(pipe.write, for: .readable) { _ in } }
        #expect(error?.code == .loopClosed)
    }

    @Test func epollRefusesARegularFile() throws {
        let (loop, _) = try makeLoop(.epoll)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let fd = try fds.regularFile()
        let error = #expect(throws: EventLoopError.self) { try loop.watch(fd, for: .readable) { _ in } }
        #expect(error?.code == .invalidDescriptor)
        #expect(error?.cause == .notPermitted)
        #expect(error?.description.contains("fd \(fd)") == true, "\(String(describing: error))")
        expectNoLeaks(loop)
    }

    @Test func selectRefusesADescriptorAtOrAboveFDSetSize() throws {
        let (loop, _) = try makeLoop(.select)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        let high = try fds.moveAbove(1500, pipe.read)
        let error = #expect(throws: EventLoopError.self) { try loop.watch(high, for: .readable) { _ in } }
        #expect(error?.code == .descriptorOutOfRange)
        #expect(error?.description.contains("fd \(high)") == true, "\(String(describing: error))")
        #expect(error?.description.contains("1024") == true)
        #expect(loop.watchedCount == 0)
        expectNoLeaks(loop)
    }

    @Test func epollWatchesADescriptorAboveFDSetSize() throws {
        let (loop, _) = try makeLoop(.epoll)
        let fds = OpenDescriptors()
        defer { fds.closeAll() }
        let pipe = try fds.pipe()
        let high = try fds.moveAbove(1600, pipe.read)
        var calls = 0
        try loop.watch(high, for: .readable) { _ in calls += 1 }
        writeBytes(pipe.write)
        try tickWithoutBlocking(loop)
        #expect(calls == 1)
        loop.unwatch(high)
        expectNoLeaks(loop)
    }

    @Test func aBackendRefusalIsTranslated() throws {
        let (loop, backend, _) = try makeScriptedLoop()
        backend.refusals[5006] = Errno(rawValue: ENOMEM)
        let error = #expect(throws: EventLoopError.self) { try loop.watch(5006, for: .readable) { _ in } }
        #expect(error?.code == .backendFailure)
        #expect(error?.cause == Errno(rawValue: ENOMEM))
        #expect(loop.watchedCount == 0)
        expectNoLeaks(loop)
    }
}
