import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The codec-independent part of a stream connection, assembled from parts that do no I/O of their own:
/// a `ByteStream` it reads and writes through (a socket, TLS, or a scripted stream in tests), its
/// `ConnectionLifecycle`, its `SendQueue`, and the receive buffer the codec driver works on.
/// `TCPConnection<C>` adds the codec, its driver and the callbacks. Loop-bound: not `Sendable`.
///
/// Send semantics are Workerman's: bytes go straight to the socket when nothing is
/// queued; otherwise they queue, and a send is refused only when the queue is *already* at
/// `maxSendBufferSize`, so one oversized message is always accepted.
public class Connection {
    /// Per-process id, shared by server and client connections (Workerman's `$connection->id`).
    public let id: Int
    public let loop: EventLoop
    @usableFromInline let context: TransportContext
    /// What the connection reads from and writes to. Set it through `use(_:)`.
    @exclusivity(unchecked) @usableFromInline final private(set) var stream: any ByteStream
    /// The stream is a plain `SocketStream`: the I/O below then calls the syscall wrappers itself, as the
    /// stream would, without the call through the existential's witness table (about 70 instructions of
    /// a 4,300-instruction HTTP request, measured with callgrind). Any other stream goes through the
    /// protocol.
    @exclusivity(unchecked) final private(set) var isPlainSocket: Bool
    /// The stream's descriptor, or -1 once the stream is released (kept apart from `stream` so the hot
    /// paths read it without a call through the stream's witness table).
    @exclusivity(unchecked) public internal(set) var fd: CInt
    /// Where the connection is in its life; `status` is its Workerman name.
    @exclusivity(unchecked) @usableFromInline final var lifecycle: ConnectionLifecycle
    /// Workerman's `getStatus()`.
    public final var status: ConnectionStatus { lifecycle.status }
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
    @exclusivity(unchecked) public internal(set) var isPaused = false
    /// Monotonic time the unprocessed part of a message started waiting for more bytes; 0 when none waits.
    /// The owner's stall check (a slowloris header timeout) reads it.
    @exclusivity(unchecked) package internal(set) var partialSince: UInt64 = 0
    /// True while this connection processes what one read brought: its answers collect in the loop's cork
    /// buffer and leave in one write when processing ends, so sixteen pipelined requests cost one write,
    /// not sixteen (SwiftNIO flushes once per read for the same reason).
    @exclusivity(unchecked) var isCorked = false
    /// Set by `closeWhenIdle()`: the connection closes as soon as nothing is being received or sent.
    public final var isDraining: Bool { lifecycle.isDraining }
    /// The connection `pipe(to:)` feeds from, paused while this one's buffer is full.
    @exclusivity(unchecked) var pipeSource: Connection?
    /// Called when queued output drains, before `onBufferDrain`: a streamer in a layer above (a static
    /// file) produces the next piece from here, so it never queues more than it must.
    @exclusivity(unchecked) package var drainHook: (() -> Void)?
    /// The stream is still negotiating and the owner wants to hear when it is done (a TLS handshake,
    /// bounded by the server). See `Connection+SecureStream.swift`.
    var awaitsHandshake = false
    /// The async handlers' task and queued messages, made by the first async callback (see
    /// `ConnectionTasks`); nil for a connection with sync callbacks only.
    @exclusivity(unchecked) @usableFromInline package var taskState: (any ConnectionTaskState)?
    /// Weak: the owner (a server, or a client itself) holds the connection, not the other way round.
    weak var owner: (any ConnectionOwner)?

    /// Workerman's `TCPConnection::$defaultMaxSendBufferSize`.
    public static let defaultMaxSendBufferSize = 1024 * 1024
    /// What a codec may hold beyond `maxPackageSize` while it answers `needMore`: a whole message plus
    /// the framing around it (a WebSocket frame header, an HTTP head). Past it the connection closes.
    public static let framingAllowance = 64 * 1024

    /// Workerman's `TCPConnection::$defaultMaxPackageSize`.
    public static let defaultMaxPackageSize = 10 * 1024 * 1024

    init(
        context: TransportContext,
        stream: any ByteStream,
        state: ConnectionLifecycle.State,
        transport: TransportKind,
        remoteAddress: SocketAddress?,
        maxSendBufferSize: Int = Connection.defaultMaxSendBufferSize,
        maxPackageSize: Int = Connection.defaultMaxPackageSize
    ) {
        self.context = context
        self.loop = context.loop
        self.id = context.takeConnectionID()
        self.stream = stream
        self.isPlainSocket = stream is SocketStream
        self.fd = stream.descriptor
        self.lifecycle = ConnectionLifecycle(state)
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
            security: isPlainSocket ? "" : stream.securityDescription ?? "",
            localAddress: localAddress?.description ?? "",
            remoteAddress: remoteAddress?.description ?? "",
            receiveQueue: receiveBuffer.readableBytes,
            sendQueue: sendQueue.count,
            bytesRead: bytesRead,
            bytesWritten: bytesWritten,
            status: status
        )
    }

    // MARK: - The stream

    /// Reads and writes through `stream` from now on (a client's new socket on each connect).
    func use(_ stream: any ByteStream) {
        self.stream = stream
        isPlainSocket = stream is SocketStream
        fd = stream.descriptor
    }

    @inline(__always)
    func readStream(into buffer: UnsafeMutableRawPointer, count: Int) throws(Errno) -> IOResult<Int> {
        if isPlainSocket { return try Syscalls.read(fd, buffer, count) }
        return try stream.read(into: buffer, count: count)
    }

    @inline(__always)
    func writeStream(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        if isPlainSocket { return try SocketCalls.send(fd, bytes) }
        return try stream.write(bytes)
    }

    @inline(__always)
    func writeStream(_ vectors: UnsafePointer<iovec>, count: Int) throws(Errno) -> IOResult<Int> {
        if isPlainSocket { return try SocketCalls.writev(fd, vectors, count) }
        return try stream.writev(vectors, count: count)
    }

    /// Releases the stream (closes the socket) and forgets its descriptor.
    func closeStream() {
        stream.close()
        fd = -1
    }

    // MARK: - What the typed connection provides

    // The one subclass, `TCPConnection<C>`, overrides these: it holds the codec and the callbacks, which
    // are typed by the codec.

    /// Runs the codec driver over received bytes; returns how many it used. Stops early when paused or
    /// closing.
    func processReceived(_ bytes: UnsafeRawBufferPointer) -> Int { bytes.count }
    func fireClose() {}
    func fireError(_ error: TransportError) {}
    func fireBufferFull() {}
    func fireBufferDrain() {}
    func clearCallbacks() {}
    /// Tells the codec the connection is draining; true when the codec closes it itself.
    func askCodecToSayGoodbye() -> Bool { false }
    /// A client connection's socket became writable while connecting.
    func finishConnecting() {}

    /// Closes after everything queued is sent; a connection still connecting is destroyed at once.
    /// `onClose` fires once, when the socket is closed. (In the class body, as `TCPConnection` overrides
    /// it for its client role; the work is in `Connection+Closing.swift`.)
    public func close() { closeAfterFlushing() }

    // MARK: - Event handling

    func startWatching(for interest: IOEvents) throws(TransportError) {
        do {
            try loop.watch(fd, for: stream.interest(forWanted: interest)) { [unowned self] events in self.handle(events) }
        } catch {
            throw TransportError(.loopFailed, "watch connection \(id) fd \(fd)", detail: "\(error)")
        }
    }

    /// Readiness of the stream's descriptor. Package-visible so an embedded connection can be stepped
    /// the way the loop steps a real one.
    package func handle(_ events: IOEvents) {
        if lifecycle.state == .connecting {
            finishConnecting()
            return
        }
        let events = isPlainSocket ? events : stream.attempts(forReady: events)
        if events.contains(.readable) && !isPaused && lifecycle.isOpen {
            readFromStream()
            // Each round takes at least one record the stream holds, so this ends.
            while !isPlainSocket && stream.hasBufferedInput && !isPaused && lifecycle.isOpen { readFromStream() }
        }
        if events.contains(.writable) && lifecycle.state != .closed {
            flushSendQueue()
        }
    }

    /// The readiness the connection's state calls for; its stream says what to watch for it.
    private var wantedInterest: IOEvents {
        var interest: IOEvents = []
        if lifecycle.isOpen && !isPaused { interest.insert(.readable) }
        if !sendQueue.isEmpty || lifecycle.state == .connecting { interest.insert(.writable) }
        return interest
    }

    func updateInterest() {
        guard fd >= 0 else { return }
        // Only fails if the fd is not watched, which a live connection's always is.
        try? loop.setInterest(stream.interest(forWanted: wantedInterest), for: fd)
    }

    private func readFromStream() {
        let buffer = context.readBuffer
        let result: IOResult<Int>
        do {
            result = try readStream(into: buffer, count: TransportContext.readSize)
        } catch {
            if !isPlainSocket {
                streamFailed(error)
                return
            }
            // A reset is the peer closing first; anything else on a connected socket ends it too.
            context.statistics.clientClose += 1
            destroy()
            return
        }
        if !isPlainSocket { streamProgressed(result) }
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
            if used < count && lifecycle.state != .closed {
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
        } else if partialSince == 0 && lifecycle.isOpen {
            partialSince = loop.clock.nanoseconds()
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
        guard lifecycle.state != .closed, used > 0 else { return }
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
        carryOut(lifecycle.handle(.peerClosed(outputPending: !sendQueue.isEmpty)))
    }

    // MARK: - User callbacks

    /// Runs a user callback with its activity noted for `status`; a throw is logged, counted, and closes
    /// this connection.
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
package protocol ConnectionOwner: AnyObject {
    func connectionClosed(_ connection: Connection)
    /// A connection holds part of a message and waits for the rest (for stall timeouts).
    func connectionHasPartialMessage(_ connection: Connection)
    /// A connection's stream finished its handshake (for handshake bounds).
    func connectionFinishedHandshake(_ connection: Connection)
}

extension ConnectionOwner {
    package func connectionHasPartialMessage(_ connection: Connection) {}
    package func connectionFinishedHandshake(_ connection: Connection) {}
}

@available(*, unavailable, message: "connections are bound to their event loop's thread")
extension Connection: Sendable {}
