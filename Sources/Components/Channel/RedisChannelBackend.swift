import WorkermanEventLoop
import WorkermanRedis
import WorkermanTransport

/// Channel over Redis, so clients on many machines share one broker: events are pub/sub channels
/// (`PUBLISH`/`SUBSCRIBE` on `prefix + name`), queues are lists (`RPUSH` to enqueue, `BLPOP` to take a
/// job: Redis pops each element for exactly one client). Payloads are the PHP-serialized data.
///
/// Three connections, because a subscriber connection can run nothing but (un)subscribe and a blocking
/// pop holds its connection: commands, subscriptions, and (once something is watched) the consumer.
/// Losing any of them resets all three and reconnects every `reconnectInterval`.
final class RedisChannelBackend: ChannelBackend {
    weak var delegate: ChannelBackendDelegate?
    let loop: EventLoop
    let address: String
    let prefix: String
    let reconnectInterval: Double
    let pingInterval: Double?
    var log: ComponentLogger
    /// Seconds one `BLPOP` waits before it is issued again: bounds how long a newly watched queue waits to
    /// be included, and keeps the consumer connection from looking idle.
    var blockSeconds = 2

    private var commands: RedisClient?
    private var subscriber: RedisClient?
    private var consumer: RedisClient?
    private var watched: [String] = []
    private var wantsJob = false
    private var popping = false
    private var reconnectTimer: TimerID?
    private var pingTimer: TimerID?
    private var stopped = false
    private(set) var isReady = false

    var isWritable: Bool { isReady && commands?.isWritable == true }

    init(loop: EventLoop, address: String, prefix: String, reconnectInterval: Double, pingInterval: Double?, log: @escaping ComponentLogger) {
        self.loop = loop
        self.address = address
        self.prefix = prefix
        self.reconnectInterval = reconnectInterval
        self.pingInterval = pingInterval
        self.log = log
    }

    func start() {
        guard commands == nil, !stopped else { return }
        do {
            commands = try makeClient()
            subscriber = try makeClient()
            if !watched.isEmpty { consumer = try makeClient() }
        } catch {
            log("Channel client: cannot use Redis address \(address): \(error)")
            return
        }
        for client in [commands, subscriber, consumer].compactMap({ $0 }) { client.connect() }
        if pingTimer == nil, let pingInterval, pingInterval > 0 {
            pingTimer = try? loop.addTimer(every: pingInterval) { [weak self] in
                guard let self, self.isReady else { return }
                self.commands?.send(["PING"])
                self.subscriber?.send(["PING"])
            }
        }
    }

    func stop() {
        stopped = true
        isReady = false
        if let pingTimer { loop.cancelTimer(pingTimer) }
        if let reconnectTimer { loop.cancelTimer(reconnectTimer) }
        pingTimer = nil
        reconnectTimer = nil
        closeAll()
    }

    private func makeClient() throws(RedisError) -> RedisClient {
        let client = try RedisClient(loop: loop, address: address)
        client.connectTimeout = max(1, reconnectInterval * 5)
        client.onConnect = { [weak self] in self?.clientConnected() }
        client.onClose = { [weak self, weak client] reason in
            guard let self, let client else { return }
            self.clientClosed(client, reason)
        }
        client.onPush = { [weak self] push in self?.pushed(push) }
        client.onDrain = { [weak self, weak client] in
            if let self, let client, client === self.commands { self.delegate?.backendDrained() }
        }
        return client
    }

    private func clientConnected() {
        guard !isReady, commands?.isConnected == true, subscriber?.isConnected == true else { return }
        isReady = true
        delegate?.backendReady()
    }

    private func clientClosed(_ client: RedisClient, _ reason: RedisError) {
        guard !stopped, client === commands || client === subscriber || client === consumer else { return }
        let wasReady = isReady
        isReady = false
        popping = false
        closeAll()
        if wasReady {
            log("Channel client: Redis connection to \(address) lost (\(reason)); reconnecting every \(reconnectInterval) s")
            delegate?.backendLost()
        }
        guard reconnectTimer == nil else { return }
        reconnectTimer = try? loop.addTimer(after: reconnectInterval) { [weak self] in
            self?.reconnectTimer = nil
            self?.start()
        }
    }

    private func closeAll() {
        let clients = [commands, subscriber, consumer].compactMap { $0 }
        commands = nil
        subscriber = nil
        consumer = nil
        for client in clients { client.close() }
    }

    // MARK: - Operations

    private func key(_ channel: String) -> RedisArgument { RedisArgument(prefix + channel) }
    private func queueKey(_ channel: String) -> String { prefix + "queue:" + channel }

    func subscribe(_ channels: [String]) {
        subscriber?.send(RedisCommand([ByteBuffer("SUBSCRIBE")] + channels.map { ByteBuffer(prefix + $0) }))
    }

    func unsubscribe(_ channels: [String]) {
        subscriber?.send(RedisCommand([ByteBuffer("UNSUBSCRIBE")] + channels.map { ByteBuffer(prefix + $0) }))
    }

    func publish(_ channels: [String], _ data: PHPValue) {
        let payload = RedisArgument(data.serialized())
        for channel in channels { commands?.send(RedisCommand("PUBLISH", key(channel), payload)) }
    }

    func enqueue(_ channels: [String], _ data: PHPValue) {
        let payload = RedisArgument(data.serialized())
        for channel in channels { commands?.send(RedisCommand("RPUSH", RedisArgument(queueKey(channel)), payload)) }
    }

    func watch(_ channels: [String]) {
        for channel in channels where !watched.contains(channel) { watched.append(channel) }
        if consumer == nil, isReady, let client = try? makeClient() {
            consumer = client
            client.connect()
        }
    }

    func unwatch(_ channels: [String]) {
        watched.removeAll { channels.contains($0) }
    }

    func reserve() {
        wantsJob = true
        popNext()
    }

    /// One `BLPOP` over every watched queue at a time; a job for a queue no longer watched goes back to
    /// the head of its list for someone else.
    private func popNext() {
        guard wantsJob, !popping, !watched.isEmpty, let consumer else { return }
        popping = true
        let keys = watched.map { ByteBuffer(queueKey($0)) }
        let names = Dictionary(watched.map { (queueKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        consumer.send(RedisCommand([ByteBuffer("BLPOP")] + keys + [ByteBuffer(String(blockSeconds))])) { [weak self] reply in
            guard let self else { return }
            self.popping = false
            switch reply {
            case .success(.array(let parts)) where parts.count == 2:
                guard let listKey = parts[0].string, let payload = parts[1].bytes else { return }
                guard let channel = names[listKey], self.watched.contains(channel) else {
                    self.commands?.send(RedisCommand("LPUSH", RedisArgument(listKey), RedisArgument(payload)))
                    self.popNext()
                    return
                }
                self.wantsJob = false
                self.delegate?.backendDelivered(.job(channel: channel, data: Self.decode(payload)))
            case .success:
                self.popNext()  // timed out: wait again
            case .failure(let error):
                if error.code == .server { self.log("Channel client: Redis BLPOP failed: \(error)") }
            }
        }
    }

    private func pushed(_ push: RESPValue) {
        guard case .array(let parts) = push, parts.count == 3, parts[0].string == "message",
            let channelKey = parts[1].string, channelKey.hasPrefix(prefix), let payload = parts[2].bytes
        else { return }
        delegate?.backendDelivered(.event(channel: String(channelKey.dropFirst(prefix.count)), data: Self.decode(payload)))
    }

    /// A payload that is not PHP-serialized (someone ran `redis-cli PUBLISH`) arrives as a string.
    static func decode(_ payload: ByteBuffer) -> PHPValue {
        (try? PHPValue(unserializing: payload)) ?? .string(payload.bytes)
    }
}
