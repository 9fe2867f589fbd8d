import CWorkermanShims

#if canImport(Glibc)
import Glibc
#endif

/// The loop's signal watchers and the self-pipe the C handler writes signal numbers into.
struct SignalState {
    var watchers: [CInt: (CInt) throws -> Void] = [:]
    /// Bit n set: signal n arrived since the watchers last ran.
    var pending: UInt64 = 0
    var pipe: (read: CInt, write: CInt)?

    var watcherCount: Int { watchers.count }
    var hasPending: Bool { pending != 0 }
}

extension EventLoop {
    /// Calls `watcher` on the loop thread, in the signal phase of the tick, after `signal` arrives. Signals
    /// are process-wide: one loop per process may watch a given signal. Several deliveries between two ticks
    /// run the watcher once.
    ///
    /// ```swift
    /// try loop.watchSignal(SIGINT) { _ in loop.stop() }
    /// ```
    ///
    /// - Throws: `EventLoopError` `.signalUnavailable` (out of range, SIGKILL/SIGSTOP, or taken by another
    ///   loop), `.loopClosed`.
    public func watchSignal(_ signal: CInt, _ watcher: @escaping (CInt) throws -> Void) throws(EventLoopError) {
        preconditionInLoop()
        let operation = "watch signal \(signal)"
        guard !isClosed else { throw EventLoopError(.loopClosed, operation) }
        guard signal > 0, signal < 64, signal != SIGKILL, signal != SIGSTOP else {
            throw EventLoopError(.signalUnavailable, operation, detail: "cannot be caught")
        }
        let pipe = try signalPipe()
        let current = wm_signal_route_fd(signal)
        guard current < 0 || current == pipe.write else {
            throw EventLoopError(.signalUnavailable, operation, detail: "another event loop in this process watches it")
        }
        if current < 0 && wm_signal_route(signal, pipe.write) != 0 {
            throw EventLoopError(.signalUnavailable, operation, cause: Errno(rawValue: wm_errno()))
        }
        // A signal blocked in this thread (a mask inherited from a parent's worker thread: Dispatch and
        // test runners block most signals) would stay pending for ever: unblock it where the loop runs.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, signal)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        // A replaced watcher comes back out and is released after this mutation (see EventLoop's stored
        // properties: `signals` skips exclusivity checks).
        _ = signals.watchers.updateValue(watcher, forKey: signal)
    }

    /// Stops watching `signal` and restores its default disposition. Returns false if it was not watched.
    @discardableResult
    public func unwatchSignal(_ signal: CInt) -> Bool {
        guard signals.watchers.removeValue(forKey: signal) != nil else { return false }
        _ = wm_signal_route(signal, -1)
        signals.pending &= ~(1 << UInt64(signal))
        return true
    }

    /// The signals this loop watches.
    public var watchedSignals: [CInt] { signals.watchers.keys.sorted() }

    private func signalPipe() throws(EventLoopError) -> (read: CInt, write: CInt) {
        if let pipe = signals.pipe { return pipe }
        let pipe: (read: CInt, write: CInt)
        do {
            pipe = try Syscalls.pipe()
        } catch {
            throw EventLoopError(.signalUnavailable, "create signal pipe", cause: error)
        }
        do {
            try watchInternal(pipe.read) { [unowned self] _ in self.drainSignalPipe() }
        } catch {
            try? Syscalls.close(pipe.read)
            try? Syscalls.close(pipe.write)
            throw error
        }
        signals.pipe = pipe
        return pipe
    }

    private func drainSignalPipe() {
        guard let pipe = signals.pipe else { return }
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while true {
            let result = withUnsafeMutableBytes(of: &bytes) { raw in
                try? Syscalls.read(pipe.read, raw.baseAddress!, raw.count)
            }
            guard case .processed(let count)? = result, count > 0 else { return }
            withUnsafeBytes(of: bytes) { raw in
                for index in 0..<count where raw[index] < 64 { signals.pending |= 1 << UInt64(raw[index]) }
            }
        }
    }

    func runPendingSignals() {
        guard signals.pending != 0 else { return }
        let pending = signals.pending
        signals.pending = 0
        activityRecord.pointee.callback = ActivityCallback.signal.rawValue
        for signal in 1..<CInt(64) where pending & (1 << UInt64(signal)) != 0 {
            guard let watcher = signals.watchers[signal] else { continue }
            activityRecord.pointee.subject = UInt64(signal)
            do { try watcher(signal) } catch { report(error, in: .signal, subject: UInt64(signal)) }
        }
    }

    func closeSignals() {
        var watchers: [CInt: (CInt) throws -> Void] = [:]
        swap(&watchers, &signals.watchers)  // released from this local, after the mutation
        for signal in watchers.keys { _ = wm_signal_route(signal, -1) }
        signals.pending = 0
        if let pipe = signals.pipe {
            try? Syscalls.close(pipe.read)  // our own pipe: a failed close leaves nothing to do
            try? Syscalls.close(pipe.write)
            signals.pipe = nil
        }
    }
}
