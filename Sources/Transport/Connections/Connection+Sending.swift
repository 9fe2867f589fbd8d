import WorkermanEventLoop

// The send side of a connection: Workerman's send algorithm, the per-read cork, and the queue flushed
// when the stream is writable.
extension Connection {
    /// Sends bytes as they are, with no codec (Workerman's `send($data, true)`).
    @discardableResult
    public func sendRaw(_ bytes: ByteBuffer) -> SendResult {
        bytes.withReadableBytes { sendBytes($0, keeping: bytes) }
    }

    /// Sends bytes as they are, with no codec.
    @discardableResult
    public func sendRaw(_ text: String) -> SendResult {
        var text = text
        return text.withUTF8 { sendBytes(UnsafeRawBufferPointer($0), keeping: nil) }
    }

    /// Workerman's send algorithm. `keeping` is the buffer `bytes` points into, if
    /// any: a large remainder is queued by reference instead of copied.
    @usableFromInline
    func sendBytes(_ bytes: UnsafeRawBufferPointer, keeping owner: ByteBuffer?) -> SendResult {
        switch lifecycle.state {
        case .closing, .closed:
            return .failed
        case .initial, .connecting:
            guard acceptIntoQueue() else { return .failed }
            enqueue(bytes, owner: owner, from: 0)
            return .queued
        case .established, .draining, .awaitingCodecClose, .closingAfterStream:
            guard sendQueue.isEmpty else {
                guard acceptIntoQueue() else { return .failed }
                enqueue(bytes, owner: owner, from: 0)
                return .queued
            }
            guard !bytes.isEmpty else { return .written }
            if isCorked {
                if context.cork.readableBytes + bytes.count <= TransportContext.corkCapacity {
                    context.cork.append(bytes)
                    return .queued
                }
                // Too big to hold back: what is corked goes first, then this, in order.
                flushCork()
                guard lifecycle.isOpen else { return .failed }
                guard sendQueue.isEmpty else {
                    enqueue(bytes, owner: owner, from: 0)
                    return .queued
                }
            }
            return writeNow(bytes, owner: owner)
        }
    }

    /// Writes to the stream at once (the queue is empty); a remainder the stream did not take is queued
    /// for writability. A failed write means the peer is gone: `send_fail`, `onError`, and the end.
    fileprivate func writeNow(_ bytes: UnsafeRawBufferPointer, owner: ByteBuffer?) -> SendResult {
        let result: IOResult<Int>
        do {
            result = try writeStream(bytes)
        } catch {
            context.statistics.sendFail += 1
            fireError(TransportError(.sendFailed, "send to \(remoteAddress?.description ?? "peer")", cause: error, detail: "client closed"))
            destroy()
            return .failed
        }
        var written = 0
        if case .processed(let count) = result { written = count }
        bytesWritten += written
        context.statistics.bytesWritten += written
        if written == bytes.count { return .written }
        enqueue(bytes, owner: owner, from: written)
        updateInterest()
        return .queued
    }

    /// Writes what this connection corked (one write for every answer of a read); a remainder the socket
    /// did not take is queued for writability.
    func flushCork() {
        guard !context.cork.isEmpty else { return }
        guard fd >= 0, lifecycle.isOpen || lifecycle.state == .closing else {
            context.cork.clear()
            return
        }
        var cork = ByteBuffer()
        swap(&cork, &context.cork)
        defer {
            cork.clear()
            swap(&cork, &context.cork)  // hand the (emptied) buffer back for the next read
        }
        _ = cork.withReadableBytes { writeNow($0, owner: nil) }
    }

    /// Workerman's rule: refuse only when the queue is non-empty and already at the limit.
    fileprivate func acceptIntoQueue() -> Bool {
        guard !sendQueue.isEmpty, sendQueue.count >= maxSendBufferSize else { return true }
        context.statistics.sendFail += 1
        fireError(TransportError(.sendFailed, "send to \(remoteAddress?.description ?? "peer")", detail: "send buffer full and drop package"))
        return false
    }

    fileprivate func enqueue(_ bytes: UnsafeRawBufferPointer, owner: ByteBuffer?, from offset: Int) {
        if var owner, bytes.count - offset > SendQueue.coalesceLimit, owner.readableBytes == bytes.count {
            owner.consume(offset)
            sendQueue.append(owner)
        } else {
            sendQueue.append(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
        if sendQueue.count >= maxSendBufferSize {
            pipeSource?.pauseReceiving()
            fireBufferFull()
        }
    }

    func flushSendQueue() {
        guard !sendQueue.isEmpty else {
            updateInterest()
            return
        }
        let outcome: (SendQueue.FlushResult, written: Int)
        do {
            outcome = try sendQueue.flush(iovecs: context.iovecs, capacity: TransportContext.iovecCapacity) {
                (vectors, count) throws(Errno) in try writeStream(vectors, count: count)
            }
        } catch {
            context.statistics.sendFail += 1
            destroy()
            return
        }
        bytesWritten += outcome.written
        context.statistics.bytesWritten += outcome.written
        guard outcome.0 == .drained else {
            updateInterest()
            return
        }
        updateInterest()
        pipeSource?.resumeReceiving()
        drainHook?()
        fireBufferDrain()
        carryOut(lifecycle.handle(.outputDrained(outputPending: !sendQueue.isEmpty)))
    }
}
