import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

/// Channel over one `frame://` connection to a Channel server (ours or walkor's PHP one), speaking
/// walkor/Channel's wire format. Reconnects every `reconnectInterval` after a loss and sends an empty
/// frame every `pingInterval` so NAT and firewall mappings of a quiet connection stay open.
final class ServerChannelBackend: ChannelBackend {
    weak var delegate: ChannelBackendDelegate?
    let loop: EventLoop
    let server: String
    let reconnectInterval: Double
    let pingInterval: Double?
    var log: ComponentLogger
    private let url: String
    private var connection: TCPClient<FrameCodec>?
    private var pingTimer: TimerID?
    private var stopped = false
    private var lastError: TransportError?
    private(set) var isReady = false

    var isWritable: Bool {
        guard isReady, let connection else { return false }
        return connection.sendBufferQueueSize < connection.maxSendBufferSize / 2
    }

    init(loop: EventLoop, server: String, reconnectInterval: Double, pingInterval: Double?, log: @escaping ComponentLogger) {
        self.loop = loop
        self.server = server
        self.reconnectInterval = reconnectInterval
        self.pingInterval = pingInterval
        self.log = log
        url = server.hasPrefix("unix://") ? server : "frame://" + server
    }

    func start() {
        guard connection == nil, !stopped else { return }
        let connection: TCPClient<FrameCodec>
        do {
            connection = try TCPClient<FrameCodec>(loop: loop, url: url)
        } catch {
            log("Channel client: cannot use server address \(server): \(error)")
            return
        }
        connection.connectTimeout = max(1, reconnectInterval * 5)
        connection.onConnect = { [weak self] _ in
            guard let self else { return }
            self.isReady = true
            self.lastError = nil
            self.delegate?.backendReady()
        }
        connection.onMessage = { [weak self] _, body in self?.received(body) }
        connection.onBufferDrain = { [weak self] _ in self?.delegate?.backendDrained() }
        connection.onError = { [weak self] _, error in self?.lastError = error }
        connection.onClose = { [weak self] connection in self?.closed(connection) }
        self.connection = connection
        if let pingInterval, pingInterval > 0 {
            pingTimer = try? loop.addTimer(every: pingInterval) { [weak self] in
                guard let self, self.isReady else { return }
                self.connection?.send(ByteBuffer())  // an empty frame: the PHP client's ping
            }
        }
        connection.connect()
    }

    func stop() {
        stopped = true
        isReady = false
        if let pingTimer { loop.cancelTimer(pingTimer) }
        pingTimer = nil
        connection?.close()
        connection = nil
    }

    private func closed(_ connection: TCPClient<FrameCodec>?) {
        let wasReady = isReady
        isReady = false
        guard !stopped, let connection else { return }
        if wasReady {
            log("Channel client: connection to \(server) closed\(lastError.map { " (\($0))" } ?? ""); reconnecting every \(reconnectInterval) s")
            delegate?.backendLost()
        }
        // Reconnecting from onClose keeps the connection's callbacks.
        connection.reconnect(after: reconnectInterval)
    }

    private func received(_ body: ByteBuffer) {
        do {
            delegate?.backendDelivered(try ChannelDelivery(parsing: body))
        } catch {
            log("Channel client: unreadable message from \(server) ignored: \(error)")
        }
    }

    private func send(_ request: ChannelRequest) {
        connection?.send(request.body)
    }

    func subscribe(_ channels: [String]) { send(.subscribe(channels)) }
    func unsubscribe(_ channels: [String]) { send(.unsubscribe(channels)) }
    func publish(_ channels: [String], _ data: PHPValue) { send(.publish(channels, data)) }
    func watch(_ channels: [String]) { send(.watch(channels)) }
    func unwatch(_ channels: [String]) { send(.unwatch(channels)) }
    func enqueue(_ channels: [String], _ data: PHPValue) { send(.enqueue(channels, data)) }
    func reserve() { send(.reserve) }
}
