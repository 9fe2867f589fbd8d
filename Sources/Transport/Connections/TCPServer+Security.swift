import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The handshakes a server has in progress: when each started, and the timer that closes those that
/// take too long. The timer runs only while some handshake is in progress.
struct HandshakeTracker {
    var started: [Int: UInt64] = [:]
    var timer: TimerID?
    /// Accepting paused because `maxConcurrentHandshakes` are in progress (not by the user's `pauseAccept`).
    var pausedAtBound = false

    var count: Int { started.count }

    mutating func finished(_ id: Int) { started[id] = nil }
}

// A secured server (TLS): each accepted socket is wrapped by `security`, and handshakes are bounded in
// time (a client that stalls mid-handshake is closed at `handshakeTimeout`) and in number (at
// `maxConcurrentHandshakes` in progress, accepting pauses until one ends, so a flood of stalled
// handshakes cannot take every descriptor and all the memory while served clients carry on). Pausing
// delays rather than refuses: the connections behind wait in the kernel's accept queue (or go to another
// child of the worker) and are served in turn, so a client that opens thousands of connections at once
// gets them all, only later.
extension TCPServer {
    /// Whether the next accept must wait for a handshake to end; pauses accepting if so.
    func mustPauseAtHandshakeBound() -> Bool {
        guard let security, handshakes.count >= security.maxConcurrentHandshakes else { return false }
        handshakes.pausedAtBound = true
        pauseAccept()
        return true
    }

    /// The stream for an accepted descriptor, or nil when it could not be made (and was closed).
    func stream(for fd: CInt) -> (any ByteStream)? {
        guard let security else { return SocketStream(descriptor: fd) }
        do {
            return try security.acceptedStream(over: SocketStream(descriptor: fd))
        } catch {
            context.statistics.handshakeFailures += 1
            loop.errorHandler(error)
            try? Syscalls.close(fd)
            return nil
        }
    }

    /// Starts the clock on `connection`'s handshake.
    func trackHandshake(of connection: TCPConnection<C>) {
        guard let security, connection.byteStream.isHandshaking else { return }
        connection.awaitsHandshake = true
        handshakes.started[connection.id] = loop.clock.nanoseconds()
        guard handshakes.timer == nil else { return }
        let timeout = security.handshakeTimeout
        handshakes.timer = try? loop.addTimer(every: max(0.05, min(1, timeout / 4))) { [weak self] in
            self?.sweepHandshakes(timeout)
        }
    }

    package func connectionFinishedHandshake(_ connection: Connection) {
        handshakes.finished(connection.id)
        stopHandshakeTimerIfIdle()
        resumeAcceptBelowHandshakeBound()
    }

    private func resumeAcceptBelowHandshakeBound() {
        guard handshakes.pausedAtBound, let security, handshakes.count < security.maxConcurrentHandshakes else { return }
        handshakes.pausedAtBound = false
        resumeAccept()
    }

    private func sweepHandshakes(_ timeout: Double) {
        let now = loop.clock.nanoseconds()
        let limit = UInt64(timeout * 1e9)
        for (id, started) in handshakes.started where now &- started >= limit {
            handshakes.finished(id)
            guard let connection = connections[id] else { continue }
            context.statistics.handshakeFailures += 1
            connection.awaitsHandshake = false
            connection.destroy()
        }
        stopHandshakeTimerIfIdle()
        resumeAcceptBelowHandshakeBound()
    }

    private func stopHandshakeTimerIfIdle() {
        guard handshakes.started.isEmpty, let timer = handshakes.timer else { return }
        loop.cancelTimer(timer)
        handshakes.timer = nil
    }
}
