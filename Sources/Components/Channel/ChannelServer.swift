import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

/// The Channel server (walkor/Channel's `Channel\Server`): a `frame://` worker in one process that
/// relays published events to subscribers and hands queued jobs to consumers, for every worker process
/// (and every PHP Channel client) connected to it.
///
/// ```swift
/// let channel = try ChannelServer("127.0.0.1:2206")
/// let ws = try Worker(websocket: "0.0.0.0:8080")
/// ws.onWorkerStart = { worker in
///     let client = try ChannelClient(loop: worker.loop!, server: "127.0.0.1:2206")
///     client.on("broadcast") { data in
///         for connection in ws.connections.values { connection.send(.text(data.stringValue ?? "")) }
///     }
/// }
/// Worker.runAll()
/// ```
///
/// Unlike PHP's server it is not reloadable by default: subscriptions and queued jobs live in its memory,
/// and a reload would drop them (clients re-subscribe within a second, but queued jobs would be lost).
/// Bad input (a frame that is not a Channel request, an unknown type, an oversized frame) is logged and
/// closes that connection only. Queued jobs wait in memory without a bound until a consumer takes them,
/// as in PHP's server.
public final class ChannelServer {
    /// The worker: set `name`, `reloadable`, `maxPackageSize` … on it before `runAll()`.
    public let worker: Worker<FrameCodec>
    /// Where bad input is reported.
    public var log: ComponentLogger = ComponentLog.standardError
    package private(set) var broker = ChannelBroker()
    private var connections: [Int: TCPConnection<FrameCodec>] = [:]
    /// Set while the broker runs: a connection that closes during a send (a dead peer) is forgotten
    /// after the broker returns, never while it is mid-update.
    private var handling = false
    private var closedWhileHandling: [Int] = []

    /// A server on `address`: `host:port`, or `unix:///path/to/socket`.
    ///
    /// - Throws: `TransportError` `.invalidAddress` when the address does not parse.
    public init(_ address: String = "0.0.0.0:2206") throws(TransportError) {
        worker = try Worker<FrameCodec>(address.hasPrefix("unix://") ? address : "frame://" + address)
        worker.count = 1
        worker.name = "ChannelServer"
        worker.reloadable = false
        // Strong captures on purpose: the server lives as long as its worker, i.e. the process.
        worker.onConnect = { connection in self.connections[connection.id] = connection }
        worker.onMessage = { connection, body in self.handle(body, from: connection) }
        worker.onClose = { connection in self.forget(connection.id) }
        worker.onError = { connection, error in
            let outcome = error.code == .sendFailed ? "message dropped" : "connection closed"
            self.log("Channel server: \(GlobalDataServer.peer(connection)): \(error); \(outcome)")
        }
        // A hub fans each publish out to every subscriber: give slow readers more room than a plain
        // connection's 1 MiB before their messages are dropped.
        worker.maxSendBufferSize = 16 * 1024 * 1024
    }

    /// Serves on `loop` outside the process plan, with the worker's handlers: for tests, and for a
    /// program that runs its own loop. `address` is a full URL (`frame://127.0.0.1:0`).
    package func serve(on loop: EventLoop, address: String) throws(TransportError) -> TCPServer<FrameCodec> {
        try worker.serve(on: loop, address: address)
    }

    private func handle(_ body: ByteBuffer, from connection: TCPConnection<FrameCodec>) {
        handling = true
        let outcome = broker.handle(body, from: connection.id) { id, message in
            self.connections[id]?.send(message)
        }
        handling = false
        for id in closedWhileHandling { forget(id) }
        closedWhileHandling.removeAll()
        if case .rejected(let reason) = outcome {
            log("Channel server: bad request from \(GlobalDataServer.peer(connection)): \(reason); connection closed")
            connection.close()
        }
    }

    private func forget(_ id: Int) {
        guard !handling else {
            closedWhileHandling.append(id)
            return
        }
        connections[id] = nil
        broker.disconnect(id)
    }
}
