import WorkermanEventLoop

// A hand-over: one socket, two connection objects, one after the other. A connection's codec type is
// fixed (`TCPConnection<C>`), so a protocol upgrade (an HTTP request that becomes a WebSocket, RFC 6455
// §4) moves the socket to a new `TCPConnection<D>`: the fd, what is queued to send, the bytes received
// behind the upgrade request, the counters and `userInfo`. The socket stays open throughout: the
// process's `connections` count does not move, and the old connection's `onClose` does not fire (its
// socket was not closed); the new connection's `onClose` fires when the socket finally closes.
//
// It happens in two steps, because the usual caller is the old connection's own `onMessage`, run from
// the middle of its read processing (`readFromSocket` → `processReceived`), which still holds the rest
// of that read:
//
//   1. `handOver` (inside `onMessage`): flushes what this read answered so far, builds the successor,
//      gives it the send queue, writes the greeting (a 101) through it, and retires the predecessor:
//      unwatched, fd -1, status `closing`. `closing` is what stops the predecessor's processing loop
//      (it runs only while `established`) and what still makes the read path keep the unprocessed rest
//      in `receiveBuffer` (it drops it only once `closed`) — so the hot path needs no new branch.
//   2. A next-tick job, after that processing returned: moves the predecessor's `receiveBuffer` (the
//      frames a client sent right behind its upgrade request) to the successor, marks the predecessor
//      `closed`, and only then watches the socket for the successor and processes those bytes. By then
//      the caller has set the successor's callbacks, so not one early frame reaches a nil `onMessage`.
//
// Between the two steps nobody watches the socket, so nothing is read out of order, whatever runs in
// between (a poll, when step 1 ran from a next-tick job itself).

/// An owner that keeps connections which took over a socket from one of its own: it closes, drains,
/// lists and counts them with the rest (a server, for a WebSocket upgraded from an HTTP route).
protocol HandoverOwner: ConnectionOwner {
    /// `successor` now runs the socket `predecessor` had: keep it, and forget the predecessor.
    func adopt(_ successor: Connection, replacing predecessor: Connection)
}

extension TCPConnection {
    /// Hands this connection's socket to a new connection driven by `codec` (a protocol upgrade), after
    /// writing `greeting` (the upgrade's answer) in order behind everything this connection sent. Call it
    /// from `onMessage` for the request that upgrades (or later, if `onMessage` paused receiving). This
    /// connection is finished afterwards: sends fail, its callbacks are gone and its `onClose` never
    /// fires. The successor is kept by this connection's owner; set its callbacks before returning to
    /// the loop: the bytes that followed the request reach it in the next tick.
    ///
    /// - Throws: `.handoverFailed` when this connection is not open, a streamed response is still being
    ///   sent, or its owner cannot keep the successor; `.sendFailed` when the peer is gone.
    package func handOver<D: Codec>(to codec: D, greeting: ByteBuffer) throws(TransportError) -> TCPConnection<D> {
        let operation = "hand over connection \(id) to \(D.self)"
        guard status == .established, fd >= 0 else {
            throw TransportError(.handoverFailed, operation, detail: "the connection is \(status)")
        }
        guard drainHook == nil else {
            // A streamer (a static file) still produces an earlier response: the greeting would land in it.
            throw TransportError(.handoverFailed, operation, detail: "an earlier response is still streaming")
        }
        guard let owner = owner as? HandoverOwner else {
            throw TransportError(.handoverFailed, operation, detail: "its owner cannot keep a handed-over connection")
        }
        // What this read answered before the upgrade goes first: the corked answers are this
        // connection's, and the successor writes straight to the socket.
        if isCorked { flushCork() }
        guard status == .established else {
            throw TransportError(.sendFailed, operation, detail: "client closed")
        }
        let successor = TCPConnection<D>(
            context: context,
            fd: fd,
            status: .established,
            transport: transport,
            remoteAddress: remoteAddress,
            codec: codec
        )
        successor.maxSendBufferSize = maxSendBufferSize
        successor.maxPackageSize = maxPackageSize
        // Carried over, so the listing shows the socket's whole life, and a drain (which spares a
        // connection that has not read a byte yet) treats the successor as the busy socket it is.
        successor.bytesRead = bytesRead
        successor.bytesWritten = bytesWritten
        successor.userInfo = userInfo
        swap(&successor.sendQueue, &sendQueue)
        retire()
        successor.owner = owner
        owner.adopt(successor, replacing: self)
        loop.nextTick { [self] in self.completeHandOver(to: successor) }
        if successor.sendQueue.isEmpty {
            successor.sendRaw(greeting)
        } else {
            // Behind output still queued, and past the buffer limit if need be: a refused greeting would
            // leave the peer waiting for an answer that never comes.
            successor.sendQueue.append(greeting)
        }
        guard successor.status == .established else {
            throw TransportError(.sendFailed, operation, detail: "client closed")
        }
        return successor
    }

    /// Step 1's end for the predecessor: nothing of it touches the socket any more (see the top of the file).
    private func retire() {
        loop.unwatch(fd)
        fd = -1
        status = .closing
        owner = nil
        pipeSource = nil
        clearCallbacks()
    }

    /// Counts and reports a refused hand-over to this connection's `onError` (a refused protocol upgrade
    /// is the peer's bad input, a `packet_err`, when `error.code` is `.protocolError`).
    package func reportHandoverFailure(_ error: TransportError) {
        if error.code == .protocolError { context.statistics.packetErr += 1 }
        fireError(error)
    }
}

extension Connection {
    /// Step 2 (see the top of the file), run on the predecessor after its read processing returned.
    fileprivate func completeHandOver(to successor: Connection) {
        if !receiveBuffer.isEmpty {
            swap(&successor.receiveBuffer, &receiveBuffer)  // the successor has read nothing: its buffer is empty
        }
        receiveBuffer.release()
        knownLength = 0
        status = .closed
        guard successor.status == .established, successor.fd >= 0 else { return }  // closed in the meantime
        do {
            // Watched with no interest first, then given what its state wants (reading, unless paused;
            // writing, if the greeting is queued): one registration instead of two.
            try successor.startWatching(for: [])
        } catch {
            loop.errorHandler(error)
            successor.destroy()
            return
        }
        successor.updateInterest()
        if !successor.isPaused { successor.processBuffered() }
    }
}
