import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The codec-independent part of a stream connection: socket, buffers, back-pressure, life cycle and
/// statistics. `TCPConnection<C>` adds the codec and the typed callbacks. Loop-bound: not `Sendable`.
///
/// Send semantics are Workerman's (reference §2.3): bytes go straight to the socket when nothing is
/// queued; otherwise they queue, and a send is refused only when the queue is *already* at
/// `maxSendBufferSize`, so one oversized message is always accepted.
public class Connection {
    /// Per-process id, shared by server and client connections (Workerman's `$connection->id`).
    public let id: Int
    public let loop: EventLoop
    @usableFromInline let context: TransportContext
    /// The socket, or -1 once closed.
    @exclusivity(unchecked) public internal(set) var fd: CInt
    @exclusivity(unchecked) public internal(set) var status: ConnectionStatus
    public let transport: TransportKind
    /// The peer's address (for a unix socket, its path or empty).
    @exclusivity(unchecked) public internal(set) var remoteAddress: SocketAddress?

    /// Queued output at or above this fires `onBufferFull`, and further sends are dropped
    /// (default `TCPConnection.defaultMaxSendBufferSize`, 1 MiB).
    @exclusivity(unchecked) public var maxSendBufferSize: Int
    /// The largest message a codec may announce (default 10 MiB).
    @exclusivity(unchecked) public var maxPackageSize: Int
    @exclusivity(unchecked) public internal(set) var bytesRead = 0
    @exclusivity(unchecked) public internal(set) var bytesWritten = 0
    /// State the application hangs on the connection (Workerman users set `$connection->uid`).
    public var userInfo: [String: Any] = [:]

    // The state the read and write paths touch is `@exclusivity(unchecked)`: Swift would otherwise check
    // exclusive access at run time on every mutation whose scope calls out (a codec, a syscall wrapper),
    // about a quarter of an HTTP request's instructions. Safe because the loop runs one callback at a
    // time, and no buffer or codec call runs user code inside its access.
    @exclusivity(unchecked) var receiveBuffer = ByteBuffer()
    @exclusivity(unchecked) var sendQueue = SendQueue()
    /// Length of the message being received when the codec already said it; 0 when unknown.
    @exclusivity(unchecked) @usableFromInline var knownLength = 0
    @exclusivity(unchecked) public private(set) var isPaused = false
    /// Monotonic time the unprocessed part of a message started waiting for more bytes; 0 when none waits.
    /// The owner's stall check (a slowloris header timeout) reads it.
    @exclusivity(unchecked) package private(set) var partialSince: UInt64 = 0
    /// True while this connection processes what one read brought: its answers collect in the loop's cork
    /// buffer and leave in one write when processing ends, so sixteen pipelined requests cost one write,
    /// not sixteen (SwiftNIO flushes once per read for the same reason).
    @exclusivity(unchecked) var isCorked = false
    /// Set by `closeWhenIdle()`: close as soon as nothing is being received or sent.
    @exclusivity(unchecked) public private(set) var isDraining = false
    /// The codec said goodbye when draining began and closes the connection itself when the peer answers.
    @exclusivity(unchecked) private var codecClosesDrainingConnection = false
    /// The connection `pipe(to:)` feeds from, paused while this one's buffer is full.
    @exclusivity(unchecked) var pipeSource: Connection?
    /// Called when queued output drains, before `onBufferDrain`: a streamer in a layer above (a static
    /// file) produces the next piece from here, so it never queues more than it must.
    @exclusivity(unchecked) package var drainHook: (() -> Void)?
    /// `close()` came while a streamer was active: close when it calls `endStream()`.
    @exclusivity(unchecked) private var closeAfterStream = false
    /// Weak: the owner (a server, or a client itself) holds the connection, not the other way round.
    weak var owner: ConnectionOwner?

    /// Workerman's `TCPConnection::$defaultMaxSendBufferSize`.
    public static let defaultMaxSendBufferSize = 1024 * 1024
    /// Workerman's `TCPConnection::$defaultMaxPackageSize`.
    public static let defaultMaxPackageSize = 10 * 1024 * 1024

    init(
        context: TransportContext,
        fd: CInt,
        status: ConnectionStatus,
        transport: TransportKind,
        remoteAddress: SocketAddress?,
        maxSendBufferSize: Int = Connection.defaultMaxSendBufferSize,
        maxPackageSize: Int = Connection.defaultMaxPackageSize
    ) {
        self.context = context
        self.loop = context.loop
        self.id = context.takeConnectionID()
        self.fd = fd
        self.status = status
        self.transport = transport
        self.remoteAddress = remoteAddress
        self.maxSendBufferSize = maxSendBufferSize
        self.maxPackageSize = maxPackageSize
    }

    // MARK: - Addresses

    /// The remote IP (no brackets), or "" if unknown.
    public var remoteIP: String { remoteAddress.map { $0.isIPv4 || $0.isIPv6 ? $0.ip : "" } ?? "" }
    public var remotePort: Int { remoteAddress?.port ?? 0 }
    /// The local address, read from the socket on demand.
    public var localAddress: SocketAddress? { fd >= 0 ? SocketCalls.localAddress(fd) : nil }
    public var localIP: String { localAddress.map { $0.isIPv4 || $0.isIPv6 ? $0.ip : "" } ?? "" }
    public var localPort: Int { localAddress?.port ?? 0 }

    /// Bytes queued for sending (Workerman's `getSendBufferQueueSize()`).
    public var sendBufferQueueSize: Int { sendQueue.count }
    /// Bytes received and not yet processed (Workerman's `getRecvBufferQueueSize()`).
    public var receiveBufferQueueSize: Int { receiveBuffer.readableBytes }
    /// Whether nothing waits to be sent.
    public var bufferIsEmpty: Bool { sendQueue.isEmpty }

    /// The codec's name for listings; `raw` without one.
    public var codecName: String { "raw" }

    var info: ConnectionInfo {
        ConnectionInfo(
            id: id,
            transport: transport,
            codec: codecName,
            localAddress: localAddress?.description ?? "",
            remoteAddress: remoteAddress?.description ?? "",
            receiveQueue: receiveBuffer.readableBytes,
            sendQueue: sendQueue.count,
            bytesRead: bytesRead,
            bytesWritten: bytesWritten,
            status: status
        )
    }

    // MARK: - Hooks for the typed subclass

    /// Runs the codec over received bytes; returns how many it used. Stops early when paused or closing.
    func processReceived(_ bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
    func fireClose() {}
    func fireError(_ error: TransportError) {}
    func fireBufferFull() {}
    func fireBufferDrain() {}
    func clearCallbacks() {}
    /// A client connection's socket became writable while connecting.
    func finishConnecting() {}

    // MARK: - Event handling

    func startWatching(for interest: IOEvents) throws(TransportError) {
        do {
            try loop.watch(fd, for: interest) { [unowned self] events in self.handle(events) }
        } catch {
            throw TransportError(.loopFailed, "watch connection \(id) fd \(fd)", detail: "\(error)")
        }
    }

    private func handle(_ events: IOEvents) {
        if status == .connecting {
            finishConnecting()
            return
        }
        if events.contains(.readable) && !isPaused && status == .established {
            readFromSocket()
        }
        if events.contains(.writable) && status != .closed {
            flushSendQueue()
        }
    }

    /// The interest the connection's state calls for.
    private var wantedInterest: IOEvents {
        var interest: IOEvents = []
        if status == .established && !isPaused { interest.insert(.readable) }
        if !sendQueue.isEmpty || status == .connecting { interest.insert(.writable) }
        return interest
    }

    func updateInterest() {
        guard fd >= 0 else { return }
        // Only fails if the fd is not watched, which a live connection's always is.
        try? loop.setInterest(wantedInterest, for: fd)
    }

    private func readFromSocket() {
        let buffer = context.readBuffer
        let result: IOResult<Int>
        do {
            result = try Syscalls.read(fd, buffer, TransportContext.readSize)
        } catch {
            // A reset is the peer closing first; anything else on a connected socket ends it too.
            context.statistics.clientClose += 1
            destroy()
            return
        }
        guard case .processed(let count) = result else { return }
        guard count > 0 else {
            peerClosed()
            return
        }
        bytesRead += count
        context.statistics.bytesRead += count
        isCorked = true
        if receiveBuffer.isEmpty {
            // The common case: parse straight from the loop's read buffer and keep only a leftover.
            let fresh = UnsafeRawBufferPointer(start: buffer, count: count)
            let used = processReceived(fresh)
            if used < count && status != .closed {
                receiveBuffer.append(UnsafeRawBufferPointer(rebasing: fresh[used...]))
            }
        } else {
            receiveBuffer.append(UnsafeRawBufferPointer(start: buffer, count: count))
            processBuffered()
        }
        isCorked = false
        flushCork()
        trackPartialMessage()
        if isDraining { closeIfIdleAndDraining() }
    }

    /// Notes when a partial message starts or ends waiting, telling the owner when one starts.
    private func trackPartialMessage() {
        if receiveBuffer.isEmpty {
            partialSince = 0
        } else if partialSince == 0 && status == .established {
            partialSince = MonotonicClock.now()
            owner?.connectionHasPartialMessage(self)
        }
    }

    /// Processes what `receiveBuffer` holds (after more arrived, or on resume).
    func processBuffered() {
        guard !receiveBuffer.isEmpty else { return }
        let outerCork = isCorked
        isCorked = true
        defer {
            if !outerCork {
                isCorked = false
                flushCork()
            }
        }
        // A copy, so callbacks run while parsing never overlap an access to the stored buffer.
        let snapshot = receiveBuffer
        let used = snapshot.withReadableBytes { processReceived($0) }
        guard status != .closed, used > 0 else { return }
        if used >= receiveBuffer.readableBytes {
            receiveBuffer.release()
        } else {
            receiveBuffer.consume(used)
        }
    }

    /// The peer finished sending (EOF). What it sent has been processed; answers already queued are
    /// still flushed before the socket closes (a half-closed client still gets its response).
    private func peerClosed() {
        context.statistics.clientClose += 1
        if sendQueue.isEmpty {
            destroy()
        } else {
            status = .closing
            updateInterest()
        }
    }

    // MARK: - Sending

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

    /// The send algorithm of Workerman's reference §2.3. `keeping` is the buffer `bytes` points into, if
    /// any: a large remainder is queued by reference instead of copied.
    @usableFromInline
    func sendBytes(_ bytes: UnsafeRawBufferPointer, keeping owner: ByteBuffer?) -> SendResult {
        switch status {
        case .closing, .closed:
            return .failed
        case .initial, .connecting:
            guard acceptIntoQueue() else { return .failed }
            enqueue(bytes, owner: owner, from: 0)
            return .queued
        case .established:
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
                guard status == .established else { return .failed }
                guard sendQueue.isEmpty else {
                    enqueue(bytes, owner: owner, from: 0)
                    return .queued
                }
            }
            return writeNow(bytes, owner: owner)
        }
    }

    /// Writes to the socket at once (the queue is empty); a remainder the socket did not take is queued
    /// for writability. A failed write means the peer is gone: `send_fail`, `onError`, and the end.
    private func writeNow(_ bytes: UnsafeRawBufferPointer, owner: ByteBuffer?) -> SendResult {
        let result: IOResult<Int>
        do {
            result = try SocketCalls.send(fd, bytes)
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
        guard fd >= 0, status == .established || status == .closing else {
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
    private func acceptIntoQueue() -> Bool {
        guard !sendQueue.isEmpty, sendQueue.count >= maxSendBufferSize else { return true }
        context.statistics.sendFail += 1
        fireError(TransportError(.sendFailed, "send to \(remoteAddress?.description ?? "peer")", detail: "send buffer full and drop package"))
        return false
    }

    private func enqueue(_ bytes: UnsafeRawBufferPointer, owner: ByteBuffer?, from offset: Int) {
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
        let fd = self.fd
        let outcome: (SendQueue.FlushResult, written: Int)
        do {
            outcome = try sendQueue.flush(iovecs: context.iovecs, capacity: TransportContext.iovecCapacity) {
                (vectors, count) throws(Errno) in try SocketCalls.writev(fd, vectors, count)
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
        if status == .closing {
            // onBufferDrain may have sent more before closing: that goes out first.
            if sendQueue.isEmpty { destroy() }
        } else if isDraining {
            closeIfIdleAndDraining()
        }
    }

    // MARK: - Flow control

    /// Stops reading; data already received waits (Workerman's `pauseRecv()`).
    public func pauseReceiving() {
        guard !isPaused else { return }
        isPaused = true
        updateInterest()
    }

    /// Reads again and, in the next tick, delivers messages already buffered (Workerman's `resumeRecv()`).
    public func resumeReceiving() {
        guard isPaused else { return }
        isPaused = false
        updateInterest()
        guard !receiveBuffer.isEmpty else { return }
        // Deferred, so a resume from inside this connection's own onMessage does not recurse.
        loop.nextTick { [weak self] in
            guard let self, !self.isPaused, self.status == .established else { return }
            self.processBuffered()
        }
    }

    // MARK: - Closing

    /// Closes after everything queued is sent; a connection still connecting is destroyed at once.
    /// `onClose` fires once, when the socket is closed.
    public func close() {
        switch status {
        case .initial, .connecting:
            destroy()
        case .closing, .closed:
            return
        case .established:
            if drainHook != nil {
                closeAfterStream = true  // the streamer's bytes belong to the last response: send them first
                return
            }
            if isCorked { flushCork() }  // answers held for this read go before the close
            guard status == .established else { return }
            status = .closing
            if sendQueue.isEmpty {
                destroy()
            } else {
                updateInterest()
            }
        }
    }

    /// Closes as soon as the connection is idle: nothing half-received, nothing queued to send. For a
    /// graceful stop or reload: the exchange in flight finishes, then the connection closes (an HTTP codec
    /// also answers `Connection: close` from now on).
    public func closeWhenIdle() {
        guard status == .established, !isDraining else { return }
        isDraining = true
        if drainStarted() {
            codecClosesDrainingConnection = true
            return
        }
        closeIfIdleAndDraining()
    }

    /// Tells the codec the connection is draining; true when the codec closes it (overridden by the typed
    /// subclass).
    func drainStarted() -> Bool { false }

    /// Closes after the codec's goodbye, if it has one (a WebSocket's 1001 close frame): a server's stop,
    /// which does not wait for the answer.
    func closeSayingGoodbye() {
        if status == .established && !isDraining { _ = drainStarted() }
        close()
    }

    func closeIfIdleAndDraining() {
        // A connection a server accepted that has not sent a byte yet waits for its first request, which
        // its client is about to send: not idle (nginx sees it so too). Closing it would fail a request
        // the client already made; whoever drains bounds the wait (a stopping worker's timeout).
        let awaitingFirstRequest = bytesRead == 0 && owner != nil && owner !== self
        if isDraining && !codecClosesDrainingConnection && status == .established && sendQueue.isEmpty && receiveBuffer.isEmpty && knownLength == 0
            && !awaitingFirstRequest
        {
            close()
        }
    }

    /// Called by a streamer (see `drainHook`) when it has queued its last bytes.
    package func endStream() {
        drainHook = nil
        if closeAfterStream {
            closeAfterStream = false
            close()
        }
    }

    /// Closes the socket now, dropping queued output; fires `onClose` once.
    public func destroy() {
        guard status != .closed else { return }
        if isCorked {
            context.cork.clear()  // the held answers die with the connection, as queued output does
            isCorked = false
        }
        let wasOpen = fd >= 0
        if wasOpen {
            loop.unwatch(fd)
            try? Syscalls.close(fd)  // the socket is gone either way; nothing useful to do on failure
            fd = -1
            context.statistics.connections -= 1
        }
        status = .closed
        knownLength = 0
        isPaused = false
        receiveBuffer.release()
        sendQueue.removeAll()
        let source = pipeSource
        pipeSource = nil
        drainHook = nil
        source?.resumeReceiving()
        fireClose()
        // A client that reconnected from onClose keeps its callbacks; anything else drops them, which
        // breaks the cycles user closures make through the connection (as Workerman does).
        if status == .closed {
            owner?.connectionClosed(self)
            clearCallbacks()
        }
    }

    // MARK: - User callbacks

    /// Runs a user callback with its activity noted for `status`; a throw is logged, counted, and closes
    /// this connection (DESIGN decision 7).
    @inlinable @inline(__always)
    final func invokeUserCallback(_ kind: ActivityCallback, _ body: () throws -> Void) {
        loop.noteActivity(kind, subject: UInt64(id))
        do {
            try body()
        } catch {
            callbackFailed(kind, error)
        }
    }

    /// A user callback threw: log, count, and close (unless it was `onClose`).
    @usableFromInline
    final func callbackFailed(_ kind: ActivityCallback, _ error: any Error) {
        context.statistics.throwException += 1
        loop.errorHandler(CallbackFailure(callback: kind, subject: UInt64(id), error: error))
        if kind != .onClose { close() }
    }

    /// Counts a decoded message for `status` (total_request).
    @usableFromInline
    final func countRequest() {
        context.statistics.totalRequest += 1
    }
}

/// Whoever keeps a connection alive while it is open: a server's table or the client registry.
protocol ConnectionOwner: AnyObject {
    func connectionClosed(_ connection: Connection)
    /// A connection holds part of a message and waits for the rest (for stall timeouts).
    func connectionHasPartialMessage(_ connection: Connection)
}

extension ConnectionOwner {
    func connectionHasPartialMessage(_ connection: Connection) {}
}

@available(*, unavailable, message: "connections are bound to their event loop's thread")
extension Connection: Sendable {}
