import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The largest UDP payload over IPv4 (65535 − 8 UDP − 20 IP header bytes).
let maxDatagramPayload = 65_507

/// The sender of one datagram received by a `UDPServer` (Workerman makes one `UDPConnection` per
/// datagram): reply with `send`. It holds no buffer and has no close callbacks.
public final class UDPConnection<C: Codec> {
    let socket: CInt
    let context: TransportContext
    public let remoteAddress: SocketAddress
    var codec: C

    init(socket: CInt, context: TransportContext, remoteAddress: SocketAddress, codec: C) {
        self.socket = socket
        self.context = context
        self.remoteAddress = remoteAddress
        self.codec = codec
    }

    public var remoteIP: String { remoteAddress.ip }
    public var remotePort: Int { remoteAddress.port }
    public var localAddress: SocketAddress? { SocketCalls.localAddress(socket) }

    /// Encodes and sends one datagram back to the sender; true iff all of it was sent (Workerman's
    /// contract). A payload over 65,507 bytes is refused.
    @discardableResult
    public func send(_ message: C.Outbound) -> Bool {
        var buffer = ByteBuffer()
        var codecContext = CodecContext(maxPackageSize: maxDatagramPayload)
        codec.encode(message, into: &buffer, &codecContext)
        return sendDatagram(buffer, socket: socket, to: remoteAddress, context: context)
    }

    /// Sends `message` if given; there is nothing to close for a datagram.
    public func close(with message: C.Outbound? = nil) {
        if let message { send(message) }
    }
}

/// Sends one datagram; counts a failure.
func sendDatagram(_ buffer: ByteBuffer, socket: CInt, to address: SocketAddress?, context: TransportContext) -> Bool {
    guard !buffer.isEmpty else { return false }
    guard buffer.readableBytes <= maxDatagramPayload else {
        context.statistics.sendFail += 1
        return false
    }
    let result = buffer.withReadableBytes { try? SocketCalls.sendTo(socket, $0, address) }
    guard case .processed(let count)? = result, count == buffer.readableBytes else {
        context.statistics.sendFail += 1
        return false
    }
    context.statistics.bytesWritten += count
    return true
}

/// Receives datagrams on one UDP socket and hands each, decoded whole by codec `C`, to `onMessage`
/// (Workerman's UDP worker: no `onConnect`/`onClose`, one `total_request` per datagram).
///
/// ```swift
/// let server = try UDPServer<TextCodec>(loop: loop, address: "udp://127.0.0.1:0")
/// server.onMessage = { sender, text in sender.send("echo \(text)") }
/// try server.start()
/// ```
public final class UDPServer<C: Codec> {
    public let loop: EventLoop
    public let endpoint: Endpoint
    public var options: ListenOptions
    let context: TransportContext
    public private(set) var listener: Listener?

    public var onMessage: ((UDPConnection<C>, C.Message) throws -> Void)?
    /// Datagrams that were truncated or rejected by the codec (counted as `packet_err`).
    public var onError: ((TransportError) -> Void)?
    /// Datagrams read per readiness event at most, so one busy socket cannot starve the loop.
    public var receiveBatch = 64

    public init(loop: EventLoop, endpoint: Endpoint, options: ListenOptions = ListenOptions()) {
        self.loop = loop
        self.endpoint = endpoint
        self.options = options
        self.context = TransportContext.of(loop)
    }

    public convenience init(loop: EventLoop, address: String, options: ListenOptions = ListenOptions()) throws(TransportError) {
        self.init(loop: loop, endpoint: try Endpoint(address, transport: .udp), options: options)
    }

    /// Binds (or adopts `inherited`) and starts receiving.
    public func start(adopting inherited: Listener? = nil) throws(TransportError) {
        guard listener == nil else { return }
        // Strong on purpose: the server lives until `stop()` unwatches it.
        let listener = try Listener.watched(
            adopting: inherited,
            endpoint: endpoint,
            options: options,
            on: loop,
            operation: "receive on \(endpoint)"
        ) { _ in self.receiveDatagrams() }
        self.listener = listener
    }

    /// Stops receiving and closes the socket.
    public func stop() {
        guard let listener else { return }
        loop.unwatch(listener.fd)
        listener.close()
        self.listener = nil
    }

    private func receiveDatagrams() {
        guard let listener else { return }
        let buffer = context.readBuffer
        for _ in 0..<max(1, receiveBatch) {
            // onMessage may have stopped this server: its descriptor may be closed (and reused) by now.
            guard self.listener === listener else { return }
            let result: IOResult<(Int, SocketAddress?)>
            do {
                result = try SocketCalls.receive(listener.fd, buffer, maxDatagramPayload + 28)
            } catch {
                onError?(TransportError(.datagramTooLarge, "receive on \(endpoint)", cause: error))
                return
            }
            guard case .processed(let (count, sender)) = result else { return }
            context.statistics.totalRequest += 1
            guard let sender else { continue }
            guard count <= maxDatagramPayload + 28 else {
                // MSG_TRUNC reports the real size: the datagram did not fit and was cut.
                context.statistics.packetErr += 1
                onError?(TransportError(.datagramTooLarge, "receive from \(sender) on \(endpoint)", detail: "datagram of \(count) bytes truncated"))
                continue
            }
            context.statistics.bytesRead += count
            deliver(UnsafeRawBufferPointer(start: buffer, count: count), from: sender, socket: listener.fd)
        }
    }

    private func deliver(_ datagram: UnsafeRawBufferPointer, from sender: SocketAddress, socket: CInt) {
        let connection = UDPConnection<C>(socket: socket, context: context, remoteAddress: sender, codec: C())
        var codecContext = CodecContext(maxPackageSize: maxDatagramPayload)
        let message: C.Message?
        do {
            message = try connection.codec.decode(datagram, &codecContext)
        } catch {
            context.statistics.packetErr += 1
            onError?(TransportError(.protocolError, "receive from \(sender) on \(endpoint)", detail: error.description))
            return
        }
        guard let message, let onMessage else { return }
        loop.noteActivity(.onMessage, subject: 0)
        do {
            try onMessage(connection, message)
        } catch {
            context.statistics.throwException += 1
            loop.errorHandler(CallbackFailure(callback: .onMessage, subject: 0, error: error))
        }
    }
}

@available(*, unavailable)
extension UDPServer: Sendable {}

@available(*, unavailable)
extension UDPConnection: Sendable {}
