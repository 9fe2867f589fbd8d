import WorkermanEventLoop
import WorkermanTransport

/// A worker receiving datagrams (Workerman's `udp://` worker): one `onMessage` per datagram, decoded
/// whole by codec `C`; reply through the sender's `send`.
///
/// ```swift
/// let udp = try UDPWorker(udp: "0.0.0.0:9292")
/// udp.onMessage = { sender, bytes in sender.send(bytes) }
/// ```
public final class UDPWorker<C: Codec>: WorkerBase {
    public var onWorkerStart: ((UDPWorker<C>) throws -> Void)?
    public var onWorkerReload: ((UDPWorker<C>) throws -> Void)?
    public var onWorkerStop: ((UDPWorker<C>) throws -> Void)?
    public var onMessage: ((UDPConnection<C>, C.Message) throws -> Void)?
    /// Datagrams truncated or rejected by the codec.
    public var onError: ((TransportError) -> Void)?

    public private(set) var server: UDPServer<C>?

    /// A worker receiving on `address`: `udp://host:port`, or `scheme://host:port` for a codec over UDP.
    public init(_ address: String) throws(TransportError) {
        try super.init(address: address, transport: .udp)
    }

    override func startServing(on loop: EventLoop, inherited: Listener?) throws {
        self.loop = loop
        guard let endpoint, server == nil else { return }
        var options = listenOptions
        options.reusePort = reusePort
        let server = UDPServer<C>(loop: loop, endpoint: endpoint, options: options)
        server.onMessage = onMessage
        server.onError = onError
        try server.start(adopting: inherited)
        self.server = server
    }

    override func stopServing(closeConnections: Bool) { server?.stop() }
    override func drainConnections() { server?.stop() }
    override func runWorkerStart() throws { try onWorkerStart?(self) }
    override func runWorkerStop() throws { try onWorkerStop?(self) }
    override func runWorkerReload() throws { try onWorkerReload?(self) }
}

extension UDPWorker where C == RawCodec {
    /// A raw UDP worker: `onMessage` gets each datagram's bytes.
    public convenience init(udp address: String) throws(TransportError) { try self.init("udp://" + address) }
}
