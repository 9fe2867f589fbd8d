import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A UDP client (Workerman's `UDPClient`): a connected datagram socket; `send` connects on first
/// use; replies arrive at `onMessage`. Numeric hosts and `localhost` only, since UDP has no connect phase
/// to hide a resolution behind.
///
/// ```swift
/// let client = try UDPClient<TextCodec>(loop: loop, url: "udp://127.0.0.1:9292")
/// client.onMessage = { client, text in print(text); client.close() }
/// client.send("ping")
/// ```
public final class UDPClient<C: Codec> {
    public let loop: EventLoop
    public let endpoint: Endpoint
    let context: TransportContext
    public private(set) var fd: CInt = -1
    public private(set) var isConnected = false
    var codec = C()

    public var onConnect: ((UDPClient<C>) throws -> Void)?
    public var onMessage: ((UDPClient<C>, C.Message) throws -> Void)?
    public var onClose: ((UDPClient<C>) throws -> Void)?

    /// - Throws: `TransportError` `.invalidAddress` for an address that does not parse or is not numeric.
    public init(loop: EventLoop, url: String) throws(TransportError) {
        self.loop = loop
        self.endpoint = try Endpoint(url, transport: .udp)
        self.context = TransportContext.of(loop)
    }

    /// Creates the connected socket and starts receiving.
    ///
    /// - Throws: `TransportError` `.invalidAddress` or `.connectFailed`, naming the address.
    public func connect() throws(TransportError) {
        guard !isConnected else { return }
        guard let address = try endpoint.numericAddress() else {
            throw TransportError(.invalidAddress, "connect \(endpoint)", detail: "UDP clients take numeric addresses or localhost")
        }
        let operation = "connect \(endpoint)"
        do {
            fd = try SocketCalls.socket(domain: address.family, type: CInt(SOCK_DGRAM.rawValue))
            _ = try SocketCalls.connect(fd, address)
        } catch {
            if fd >= 0 { try? Syscalls.close(fd) }
            fd = -1
            throw TransportError(.connectFailed, operation, cause: error)
        }
        do {
            // Strong on purpose: a connected client lives until `close()` unwatches it.
            try loop.watch(fd, for: .readable) { _ in self.receive() }
        } catch {
            try? Syscalls.close(fd)  // never used
            fd = -1
            throw TransportError(.loopFailed, operation, detail: "\(error)")
        }
        isConnected = true
        context.statistics.connections += 1
        if let onConnect { invoke(.onConnect) { try onConnect(self) } }
    }

    /// Encodes and sends one datagram, connecting first if needed; true iff all of it was sent.
    @discardableResult
    public func send(_ message: C.Outbound) -> Bool {
        if !isConnected {
            do { try connect() } catch { return false }
        }
        var buffer = ByteBuffer()
        var codecContext = CodecContext(maxPackageSize: maxDatagramPayload, isClient: true)
        codec.encode(message, into: &buffer, &codecContext)
        return sendDatagram(buffer, socket: fd, to: nil, context: context)
    }

    /// Sends `message` if given, then closes the socket; `onClose` fires.
    public func close(with message: C.Outbound? = nil) {
        if let message { send(message) }
        guard isConnected else { return }
        loop.unwatch(fd)
        try? Syscalls.close(fd)  // nothing to do if it fails
        fd = -1
        isConnected = false
        context.statistics.connections -= 1
        if let onClose { invoke(.onClose) { try onClose(self) } }
        onConnect = nil
        onMessage = nil
        onClose = nil
    }

    private func receive() {
        let buffer = context.readBuffer
        for _ in 0..<64 {
            guard fd >= 0 else { return }
            // ECONNREFUSED here reports an earlier datagram the peer's port refused: nothing to deliver.
            guard case .processed(let (count, _))? = try? SocketCalls.receive(fd, buffer, maxDatagramPayload + 28) else {
                return
            }
            context.statistics.totalRequest += 1
            guard count <= maxDatagramPayload + 28 else {
                context.statistics.packetErr += 1
                continue
            }
            context.statistics.bytesRead += count
            var codecContext = CodecContext(maxPackageSize: maxDatagramPayload, isClient: true)
            guard let message = try? codec.decode(UnsafeRawBufferPointer(start: buffer, count: count), &codecContext) else {
                context.statistics.packetErr += 1
                continue
            }
            if let onMessage { invoke(.onMessage) { try onMessage(self, message) } }
        }
    }

    private func invoke(_ kind: ActivityCallback, _ body: () throws -> Void) {
        loop.noteActivity(kind, subject: 0)
        do {
            try body()
        } catch {
            context.statistics.throwException += 1
            loop.errorHandler(CallbackFailure(callback: kind, subject: 0, error: error))
        }
    }
}

@available(*, unavailable)
extension UDPClient: Sendable {}
