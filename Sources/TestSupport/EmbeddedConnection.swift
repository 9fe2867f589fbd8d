import WorkermanEventLoop
import WorkermanTransport

/// A real `TCPConnection` with no kernel under it: it runs over a `ScriptedStream`, on a loop with a
/// `ScriptedBackend` and a `ManualClock`. Feed it what the peer sends, read what it wrote, move time by
/// hand: your handler or codec runs exactly as it would on a socket (the same receive loop, the same
/// back-pressure, the same closing rules), and a test needs no port and no wall-clock time (as SwiftNIO's
/// `EmbeddedChannel`).
///
/// ```swift
/// let embedded = try EmbeddedConnection<TextCodec>()
/// embedded.connection.onMessage = { connection, line in connection.send(line.uppercased()) }
/// embedded.receive("hello\n")
/// #expect(embedded.takeOutboundText() == "HELLO\n")
/// ```
///
/// The loop is stepped as a level-triggered kernel would wake it: readable while the stream has
/// something queued and the connection reads, writable while it has output queued and the stream takes
/// writes, and deferred jobs run until none is left.
public final class EmbeddedConnection<C: Codec>: HandoverOwner {
    public let clock: ManualClock
    public let backend: ScriptedBackend
    public let loop: EventLoop
    public let stream: ScriptedStream
    /// The connection under test: set its callbacks, send through it, close it.
    public let connection: TCPConnection<C>

    /// An accepted (server-side) connection, open, with `codec` and `handlers`.
    ///
    /// - Throws: `TransportError` if the loop refuses to watch the stream (it does not, unless broken).
    public init(
        codec: C = C(),
        handlers: ConnectionHandlers<C> = ConnectionHandlers(),
        maxPackageSize: Int = Connection.defaultMaxPackageSize,
        maxSendBufferSize: Int = Connection.defaultMaxSendBufferSize,
        remoteAddress: SocketAddress? = nil
    ) throws {
        clock = ManualClock()
        backend = ScriptedBackend(clock: clock)
        loop = try EventLoop(backend: backend, clock: clock)
        stream = ScriptedStream()
        connection = TCPConnection<C>(
            context: TransportContext.of(loop),
            stream: stream,
            state: .established,
            transport: .tcp,
            remoteAddress: remoteAddress,
            codec: codec
        )
        connection.maxPackageSize = maxPackageSize
        connection.maxSendBufferSize = maxSendBufferSize
        connection.handlers = handlers
        try connection.startAccepted(by: self)
    }

    deinit {
        connection.destroy()
        for successor in successors { successor.destroy() }
        loop.close()
    }

    // MARK: - The peer

    /// The peer sends `bytes` (one read's worth); the connection processes them.
    public func receive(_ bytes: [UInt8]) {
        stream.queueRead(bytes)
        run()
    }

    /// The peer sends `text` as UTF-8.
    public func receive(_ text: String) { receive(Array(text.utf8)) }

    /// The peer ends its side (a read of 0).
    public func receiveEndOfStream() {
        stream.queueEndOfStream()
        run()
    }

    /// The peer resets the connection (a read fails with `ECONNRESET`).
    public func receiveReset() {
        stream.queueReadFailure(.connectionReset)
        run()
    }

    /// Takes what the connection wrote since the last call.
    public func takeOutbound() -> [UInt8] { stream.takeWritten() }

    /// Takes what the connection wrote since the last call, as UTF-8 text.
    public func takeOutboundText() -> String { String(decoding: stream.takeWritten(), as: UTF8.self) }

    /// Whether the stream has closed (`onClose` of the connection that held it last has fired).
    public var isClosed: Bool { stream.isClosed }

    // MARK: - Time and the loop

    /// Moves the clock and runs what became due (timers) and whatever that set off.
    public func advanceTime(by duration: Duration) {
        clock.advance(by: duration)
        step(events: [])
        run()
    }

    /// Runs the loop until nothing is ready: reads while the stream has input the connection takes,
    /// writes while output is queued and the stream takes it, and deferred jobs. Bounded, so a
    /// connection that never settles fails the test rather than hanging it.
    public func run() {
        for _ in 0..<100_000 {
            var events: IOEvents = []
            let interest = backend.registered[stream.descriptor]?.interest ?? []
            if interest.contains(.readable) && stream.isReadable { events.insert(.readable) }
            if interest.contains(.writable) && stream.isWritable { events.insert(.writable) }
            guard !events.isEmpty || loop.hasDeferredJobs else { return }
            step(events: events)
        }
        preconditionFailure("EmbeddedConnection: the connection never settled (100,000 loop ticks)")
    }

    /// One loop tick that reports `events` for the stream. Always scripted, even when empty: an
    /// unscripted poll of the scripted backend would move the manual clock by the poll's timeout.
    private func step(events: IOEvents) {
        backend.script(events.isEmpty ? [] : [(fd: stream.descriptor, events: events)])
        do {
            try loop.tick()
        } catch {
            preconditionFailure("EmbeddedConnection: the loop failed: \(error)")
        }
    }

    /// Connections that took over the stream from `connection` (a protocol upgrade), newest last. They
    /// run on the same stream, loop and clock: keep feeding `receive` and reading `takeOutbound`.
    public private(set) var successors: [Connection] = []

    // MARK: - HandoverOwner

    package func connectionClosed(_ connection: Connection) {}

    package func adopt(_ successor: Connection, replacing predecessor: Connection) {
        successors.append(successor)
    }
}

@available(*, unavailable)
extension EmbeddedConnection: Sendable {}
