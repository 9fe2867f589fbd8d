/// Where a `ChannelClient` sends and receives: a Channel server (ours or walkor's PHP one), or Redis.
///
/// ```swift
/// let local = ChannelClient.Configuration(backend: .server("127.0.0.1:2206"))
/// let shared = ChannelClient.Configuration(backend: .redis("10.0.0.5:6379", prefix: "chat:"))
/// ```
public enum ChannelBackendKind: Sendable, Hashable {
    /// A Channel server at `host:port` or `unix:///path`: one machine, or several that reach it.
    case server(String)
    /// A Redis server at `host:port` or `unix:///path`: events are Redis pub/sub channels and queues are
    /// Redis lists, named `prefix` + channel (queues `prefix` + `queue:` + channel), so clients on any
    /// number of machines share the broker a team already runs. Payloads are PHP-serialized.
    case redis(String, prefix: String = "workerman:channel:")
}

/// What a backend tells the client.
protocol ChannelBackendDelegate: AnyObject {
    /// Connected (again): the client re-sends its subscriptions, watches and queued publishes.
    func backendReady()
    /// Disconnected; the backend reconnects by itself.
    func backendLost()
    /// The socket's send buffer emptied: the client may send what it held back.
    func backendDrained()
    func backendDelivered(_ delivery: ChannelDelivery)
}

/// One way of carrying Channel's operations. The client calls the operations only while `isReady`;
/// it keeps everything needed to restore them after a reconnect.
protocol ChannelBackend: AnyObject {
    var delegate: ChannelBackendDelegate? { get set }
    var isReady: Bool { get }
    /// Ready, and the send buffer has room: the client holds messages back while it is full instead of
    /// letting the connection drop them.
    var isWritable: Bool { get }
    /// Starts connecting, and keeps reconnecting after every loss until `stop()`.
    func start()
    func stop()
    func subscribe(_ channels: [String])
    func unsubscribe(_ channels: [String])
    func publish(_ channels: [String], _ data: PHPValue)
    func watch(_ channels: [String])
    func unwatch(_ channels: [String])
    func enqueue(_ channels: [String], _ data: PHPValue)
    /// Ready for one job of the watched queues.
    func reserve()
}
