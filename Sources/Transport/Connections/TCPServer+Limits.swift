import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

// `ConnectionLimits` in the accept path: a connection over a limit is refused (or answered by
// `onOverLimit`), each counted in `limitHits`; at `maxConnections` accepting pauses until one closes;
// idle connections are found by a sweep that compares byte counts, so the receive path pays nothing.
extension TCPServer {
    /// Whether the next accept must wait: `maxConnections` reached and no `onOverLimit` to answer.
    func mustPauseAtLimit() -> Bool {
        guard let max = limits.maxConnections, onOverLimit == nil, admittedCount >= max else { return false }
        limitState.pausedAtLimit = true
        context.statistics.limitHits += 1
        pauseAccept()
        return true
    }

    /// Connections counted against `maxConnections`.
    var admittedCount: Int { connections.count + handedOverConnections.count }

    /// Decides about a connection just accepted: nil when admitted, else why not.
    func refusal(remote: SocketAddress?) -> String? {
        if let max = limits.maxConnections, admittedCount >= max { return "maxConnections" }
        if let max = limits.maxConnectionsPerIP, let ip = remote?.ip, limitState.perIP[ip, default: 0] >= max {
            return "maxConnectionsPerIP"
        }
        return nil
    }

    /// Notes an admitted connection's IP (per-IP limit) and starts the idle sweep if it is needed.
    func admitted(_ connection: TCPConnection<C>) {
        if limits.maxConnectionsPerIP != nil, let ip = connection.remoteAddress?.ip {
            limitState.perIP[ip, default: 0] += 1
            limitState.ipOfConnection[connection.id] = ip
        }
        if let timeout = limits.idleTimeout, limitState.idleTimer == nil {
            // Runs only while connections are open: an idle server is never woken by it.
            limitState.idleTimer = try? loop.addTimer(every: max(0.05, min(1, timeout / 4))) { [weak self] in
                self?.sweepIdle(timeout)
            }
        }
    }

    /// A connection over a limit: to `onOverLimit` (which answers and closes it), or closed at once.
    func refuse(fd: CInt, remote: SocketAddress?, connection make: () -> TCPConnection<C>?) {
        context.statistics.limitHits += 1
        guard let onOverLimit else {
            try? Syscalls.close(fd)
            return
        }
        // `make` closes the descriptor itself when it cannot make a connection: closing it here too could
        // close a descriptor the process has opened meanwhile under the same number.
        guard let connection = make() else { return }
        onOverLimit(connection)
    }

    /// Forgets a closed connection's IP and resumes accepting if the limit paused it.
    func limitsConnectionClosed(_ connection: Connection) {
        if let ip = limitState.ipOfConnection.removeValue(forKey: connection.id) {
            let left = (limitState.perIP[ip] ?? 1) - 1
            limitState.perIP[ip] = left > 0 ? left : nil
        }
        if limitState.pausedAtLimit, let max = limits.maxConnections, admittedCount < max {
            limitState.pausedAtLimit = false
            resumeAccept()
        }
        if admittedCount == 0, let timer = limitState.idleTimer {
            loop.cancelTimer(timer)
            limitState.idleTimer = nil
            limitState.lastSeen.removeAll()
        }
    }

    private func sweepIdle(_ timeout: Double) {
        let now = loop.clock.nanoseconds()
        let limit = UInt64(timeout * 1e9)
        var seen: [Int: (bytes: Int, since: UInt64)] = [:]
        seen.reserveCapacity(connections.count)
        for (id, connection) in connections {
            let bytes = connection.bytesRead &+ connection.bytesWritten
            let quiet = connection.receiveBufferQueueSize == 0 && connection.bufferIsEmpty && (isIdle?(connection) ?? true)
            guard quiet, let last = limitState.lastSeen[id], last.bytes == bytes else {
                seen[id] = (bytes, now)
                continue
            }
            if now &- last.since >= limit {
                context.statistics.idleCloses += 1
                connection.close()
            } else {
                seen[id] = last
            }
        }
        limitState.lastSeen = seen
    }
}
