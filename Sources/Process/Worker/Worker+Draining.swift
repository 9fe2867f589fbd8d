import WorkermanEventLoop
import WorkermanTransport

// How a stopping or reloading process lets go of keep-alive (HTTP) connections without failing a
// request. Closing a keep-alive connection that is idle at that instant races its client: the next
// request may already be on the wire, and the client sees the connection reset instead of an answer
// (wrk counted one read error per connection on every reload). So a draining keep-alive connection stays
// open, answers its next request with `Connection: close` and closes after it; only a connection idle
// for a whole grace period is closed by us (nginx does the same with its keep-alive connections).

extension Worker {
    func drainBetweenExchanges(idleGrace: Double) {
        guard let server, let loop, let isBetweenExchanges else { return }
        server.stop()
        for connection in server.connections.values { connection.drainAfterNextAnswer() }
        let deadline = MonotonicClock.now() + UInt64(max(0, idleGrace) * 1e9)
        // Checked often after the grace, so a connection that went quiet later (a long answer, a stream
        // that ended) is closed soon too. The timer ends with the process.
        _ = try? loop.addTimer(every: 0.05) { [weak server] in
            guard let server, MonotonicClock.now() >= deadline else { return }
            for connection in server.connections.values where connection.isDraining && isBetweenExchanges(connection) {
                connection.close()
            }
        }
    }
}
