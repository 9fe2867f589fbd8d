import WorkermanEventLoop

/// Several connections to one Redis server, for a worker that issues many commands at once: each command
/// goes to the connected client with the fewest replies outstanding. Clients reconnect by themselves
/// (`reconnectDelay` defaults to 0.1 s here). A pipeline or transaction stays on one connection, so
/// `MULTI`/`EXEC` through a pool is still atomic; `WATCH` needs a client of its own (`client(for:)`).
///
/// ```swift
/// let pool = try RedisPool(loop: loop, address: "127.0.0.1:6379", size: 8)
/// pool.connect()
/// pool.increment("visits") { count in print(count) }
/// ```
public final class RedisPool: RedisCommandSender {
    public let clients: [RedisClient]
    public let loop: EventLoop
    private var next = 0

    /// `size` clients of the server at `address`; call `connect()`.
    ///
    /// - Throws: `RedisError` `.invalidAddress`.
    public init(loop: EventLoop, address: String, size: Int = 4, configuration: RedisConfiguration = RedisConfiguration()) throws(RedisError) {
        var configuration = configuration
        if configuration.reconnectDelay == nil { configuration.reconnectDelay = 0.1 }
        var clients: [RedisClient] = []
        for _ in 0..<max(1, size) { clients.append(try RedisClient(loop: loop, address: address, configuration: configuration)) }
        self.clients = clients
        self.loop = loop
    }

    /// Connects every client.
    public func connect() {
        for client in clients { client.connect() }
    }

    /// Closes every client; commands waiting fail.
    public func close() {
        for client in clients { client.close() }
    }

    /// How many clients are connected.
    public var connectedCount: Int { clients.filter(\.isConnected).count }

    /// The client the next command goes to: the connected one with the fewest replies outstanding, else
    /// the next in turn (its command waits for the connection).
    public func leastBusyClient() -> RedisClient {
        var best: RedisClient?
        for client in clients where client.isConnected {
            if best == nil || client.pendingCount < best!.pendingCount { best = client }
        }
        if let best { return best }
        next = (next + 1) % clients.count
        return clients[next]
    }

    /// The same client for the same `key` (hashing), for a `WATCH` … `transaction` sequence.
    public func client(for key: String) -> RedisClient {
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return clients[Int(hash % UInt32(clients.count))]
    }

    public func send(_ command: RedisCommand, _ reply: ((Result<RESPValue, RedisError>) -> Void)? = nil) {
        leastBusyClient().send(command, reply)
    }

    public func send(batch commands: [RedisCommand], _ reply: @escaping (Int, Result<RESPValue, RedisError>) -> Void) {
        leastBusyClient().send(batch: commands, reply)
    }
}
