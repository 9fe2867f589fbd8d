import CWorkermanShims

#if canImport(Glibc)
import Glibc
#endif

extension EventLoop {
    /// Starts calling `watcher` whenever `fd` is ready for `interest` (level-triggered: as long as it stays
    /// ready). The watcher gets what is ready, plus `.error`/`.hangup` when the kernel reports them.
    ///
    /// ```swift
    /// try loop.watch(socket, for: .readable) { events in
    ///     let n = read(socket, buffer, capacity) …
    /// }
    /// ```
    ///
    /// - Throws: `EventLoopError` `.invalidDescriptor` (negative, closed, or not pollable),
    ///   `.alreadyWatched`, `.descriptorOutOfRange` (select and fd ≥ FD_SETSIZE), `.loopClosed`.
    public func watch(
        _ fd: CInt,
        for interest: IOEvents,
        _ watcher: @escaping (IOEvents) throws -> Void
    ) throws(EventLoopError) {
        preconditionInLoop()
        try watch(fd, interest: interest.intersection(.interestMask), isInternal: false, watcher)
    }

    /// Changes what `fd` is watched for. An empty interest pauses it without forgetting the watcher.
    ///
    /// - Throws: `EventLoopError` `.notWatched`, or `.backendFailure`.
    public func setInterest(_ interest: IOEvents, for fd: CInt) throws(EventLoopError) {
        assert(inLoopThread, "EventLoop used from a thread other than its own")
        guard descriptors.contains(fd) else { throw EventLoopError(.notWatched, "set interest of fd \(fd)") }
        let interest = interest.intersection(.interestMask)
        var entry = descriptors[fd]
        guard entry.interest != interest else { return }  // no syscall for an unchanged mask
        let userData = DescriptorTable.userData(fd: fd, generation: entry.generation)
        do {
            switch (entry.inBackend, interest.isEmpty) {
            case (true, true): try backend.deregister(fd: fd)
            case (true, false): try backend.modify(fd: fd, interest: interest, userData: userData)
            case (false, false): try backend.register(fd: fd, interest: interest, userData: userData)
            case (false, true): break
            }
        } catch {
            throw EventLoopError(.backendFailure, "set interest of fd \(fd) to \(interest)", cause: error)
        }
        entry.interest = interest
        entry.inBackend = !interest.isEmpty
        descriptors[fd] = entry
    }

    /// What `fd` is watched for, or nil if it is not watched.
    public func interest(for fd: CInt) -> IOEvents? {
        descriptors.contains(fd) ? descriptors[fd].interest : nil
    }

    /// Stops watching `fd`; events already reported for it in this tick are dropped. Call it before closing
    /// the descriptor. Unwatching an fd that is not watched does nothing and returns false.
    @discardableResult
    public func unwatch(_ fd: CInt) -> Bool {
        assert(inLoopThread, "EventLoop used from a thread other than its own")
        guard descriptors.contains(fd) else { return false }
        if descriptors[fd].inBackend {
            // The only failures are a descriptor already closed (the kernel dropped it from the set itself)
            // or already gone from the set: either way it is no longer watched, which is what we want.
            try? backend.deregister(fd: fd)
        }
        descriptors.remove(fd)
        return true
    }

    /// How many descriptors the user has watched (the loop's own wake-up and signal descriptors excluded).
    public var watchedCount: Int { descriptors.userCount }

    func watchInternal(_ fd: CInt, _ watcher: @escaping (IOEvents) throws -> Void) throws(EventLoopError) {
        try watch(fd, interest: .readable, isInternal: true, watcher)
    }

    private func watch(
        _ fd: CInt,
        interest: IOEvents,
        isInternal: Bool,
        _ watcher: @escaping (IOEvents) throws -> Void
    ) throws(EventLoopError) {
        let operation = "watch fd \(fd)"
        guard !isClosed else { throw EventLoopError(.loopClosed, operation) }
        guard fd >= 0 else { throw EventLoopError(.invalidDescriptor, operation, detail: "negative descriptor") }
        guard !descriptors.contains(fd) else { throw EventLoopError(.alreadyWatched, operation) }
        let userData = descriptors.insert(fd, interest: interest, isInternal: isInternal, watcher: watcher)
        guard !interest.isEmpty else {
            // Not handed to the backend yet, so check here that the descriptor exists at all.
            if !Syscalls.isOpen(fd) {
                descriptors.remove(fd)
                throw EventLoopError(.invalidDescriptor, operation, cause: .badFileDescriptor)
            }
            return
        }
        do {
            try backend.register(fd: fd, interest: interest, userData: userData)
        } catch {
            descriptors.remove(fd)
            throw Self.registrationError(error, fd: fd, backend: backend.name)
        }
    }

    private static func registrationError(_ error: Errno, fd: CInt, backend: String) -> EventLoopError {
        let operation = "watch fd \(fd)"
        switch error {
        case .badFileDescriptor:
            return EventLoopError(.invalidDescriptor, operation, cause: error, detail: "not an open descriptor")
        case .notPermitted:
            return EventLoopError(.invalidDescriptor, operation, cause: error, detail: "\(backend) cannot watch this kind of file")
        case .invalidArgument where backend == "select":
            return EventLoopError(
                .descriptorOutOfRange,
                operation,
                detail: "select watches only descriptors below FD_SETSIZE (\(WM_FD_SETSIZE)); use the epoll backend"
            )
        case .fileExists:
            return EventLoopError(.alreadyWatched, operation, cause: error, detail: "already in the \(backend) set")
        default:
            return EventLoopError(.backendFailure, operation, cause: error)
        }
    }

    // MARK: - Dispatch

    func dispatchReadyEvents(count: Int) {
        var index = 0
        while index < count {
            let event = readyEvents[index]
            index += 1
            let (fd, generation) = DescriptorTable.split(event.userData)
            // Re-checked per event: an earlier callback in this tick may have unwatched this fd, or closed it
            // and watched a new descriptor with the same number.
            guard fd >= 0, Int(fd) < descriptors.entries.count else { continue }
            let entry = descriptors.entries[Int(fd)]
            guard entry.generation == generation, let watcher = entry.watcher else { continue }
            var ready = event.events.intersection(entry.interest)
            guard !ready.isEmpty else { continue }  // interest narrowed since the poll
            ready.formUnion(event.events.intersection([.error, .hangup]))
            activityRecord.pointee.callback = ActivityCallback.io.rawValue
            activityRecord.pointee.subject = UInt64(UInt32(bitPattern: fd))
            do {
                try watcher(ready)
            } catch {
                report(error, in: .io, subject: UInt64(UInt32(bitPattern: fd)))
            }
        }
    }

    /// A poll failed. select fails whole with EBADF when any watched descriptor was closed without being
    /// unwatched: find those, drop them, tell the error handler, and go on. Anything else is fatal.
    func recoverFromPollFailure(_ error: Errno) throws(EventLoopError) {
        guard error == .badFileDescriptor else {
            throw EventLoopError(.backendFailure, "\(backend.name) poll", cause: error)
        }
        var dropped: [CInt] = []
        for fd in descriptors.watchedDescriptors where !Syscalls.isOpen(fd) {
            unwatch(fd)
            dropped.append(fd)
        }
        guard !dropped.isEmpty else { throw EventLoopError(.backendFailure, "\(backend.name) poll", cause: error) }
        errorHandler(
            EventLoopError(
                .invalidDescriptor,
                "poll",
                cause: error,
                detail: "fds \(dropped) were closed while watched; they are no longer watched"
            )
        )
    }
}
