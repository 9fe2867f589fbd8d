import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

/// The GlobalData server (walkor/GlobalData's `GlobalData\Server`): a `frame://` worker, one process,
/// not reloadable, holding variables every worker process can read and change atomically. Values live
/// in memory only: a restart empties it. PHP GlobalData clients can use it too.
///
/// ```swift
/// let globalData = try GlobalDataServer("127.0.0.1:2207")
/// let web = try Worker(http: "0.0.0.0:8080")
/// web.onWorkerStart = { worker in
///     let shared = try GlobalDataClient(loop: worker.loop!, servers: ["127.0.0.1:2207"])
///     …
/// }
/// Worker.runAll()
/// ```
///
/// Bad input (a frame that is not a serialized request, a request without `cmd` or `key`, an unknown
/// command) is answered with PHP's error reply (`bad request`, `bad cmd …`), logged, and that connection
/// is closed; an oversized frame closes its connection too. Everyone else is served on.
public final class GlobalDataServer {
    /// The worker: set `name`, `user`, `maxPackageSize` … on it before `runAll()`.
    public let worker: Worker<FrameCodec>
    /// Where bad input and lost peers are reported.
    public var log: ComponentLogger = ComponentLog.standardError
    package private(set) var store = GlobalDataStore()

    /// A server on `address`: `host:port`, or `unix:///path/to/socket`.
    ///
    /// - Throws: `TransportError` `.invalidAddress` when the address does not parse.
    public init(_ address: String = "0.0.0.0:2207") throws(TransportError) {
        worker = try Worker<FrameCodec>(address.hasPrefix("unix://") ? address : "frame://" + address)
        worker.count = 1
        worker.name = "globalDataServer"
        worker.reloadable = false
        // Strong on purpose: the worker lives as long as the process, and so must the server it calls,
        // even when the program keeps no reference to it (`_ = try GlobalDataServer()`).
        worker.onMessage = { connection, body in self.handle(body, from: connection) }
        worker.onError = { connection, error in
            self.log("GlobalData server: \(Self.peer(connection)): \(error); connection closed")
        }
    }

    /// Serves on `loop` outside the process plan, with the worker's handlers: for tests, and for a
    /// program that runs its own loop. `address` is a full URL (`frame://127.0.0.1:0`).
    package func serve(on loop: EventLoop, address: String) throws(TransportError) -> TCPServer<FrameCodec> {
        try worker.serve(on: loop, address: address)
    }

    private func handle(_ body: ByteBuffer, from connection: TCPConnection<FrameCodec>) {
        switch store.handle(body) {
        case .ignore:
            break
        case .reply(let reply):
            connection.send(reply)
        case .reject(let reply, let reason):
            log("GlobalData server: bad request from \(Self.peer(connection)): \(reason); connection closed")
            connection.close(with: reply)
        }
    }

    static func peer(_ connection: Connection) -> String {
        connection.remoteAddress?.description ?? "connection \(connection.id)"
    }
}
