import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

/// The master's metrics listener (`Worker.settings.metricsAddress`): `GET /metrics` answers the status
/// board in the Prometheus text format; anything else gets 404. It runs on the master's loop, which only
/// supervises, so a scrape waits for no worker and never touches one.
///
/// ```swift
/// Worker.settings.metricsAddress = "127.0.0.1:9100"
/// // curl http://127.0.0.1:9100/metrics
/// ```
final class MetricsServer {
    let address: String
    private let listener: Listener
    private var server: TCPServer<HTTPServerCodec>?
    private var exporter: MetricsExporter?

    /// Binds `address` (`host:port`, optionally `http://host:port`) at once, so a bad or busy address
    /// fails `start` with a clear error before any child starts; or adopts `inherited`, the socket an
    /// upgrading master handed over for the same address.
    init(address: String, inherited: CInt? = nil) throws(ProcessError) {
        self.address = address
        let operation = "metrics address \"\(address)\" (Worker.settings.metricsAddress)"
        let hostAndPort = address.hasPrefix("http://") ? String(address.dropFirst(7)) : address
        let endpoint: Endpoint
        do {
            endpoint = try Endpoint("tcp://" + hostAndPort)
        } catch {
            throw ProcessError(.listenFailed, operation, detail: "expected host:port, e.g. 127.0.0.1:9100 (\(error))")
        }
        guard hostAndPort.contains(":"), !hostAndPort.contains("/") else {
            throw ProcessError(.listenFailed, operation, detail: "expected host:port, e.g. 127.0.0.1:9100")
        }
        do {
            if let inherited {
                listener = try Listener(adopting: inherited, endpoint: endpoint)
            } else {
                listener = try Listener(endpoint: endpoint)
            }
        } catch {
            throw ProcessError(.listenFailed, operation, detail: error.description)
        }
    }

    /// The listening descriptor (handed to a new master by `upgrade`).
    var fd: CInt { listener.fd }
    /// The bound port (the kernel's pick for port 0).
    var port: Int { listener.address.port }
    /// The bound IP.
    var host: String { listener.address.ip }

    /// Serves scrapes of `board` on `loop`.
    func start(on loop: EventLoop, board: StatusBoard, workerNames: [String]) throws {
        exporter = MetricsExporter(board: board, workerNames: workerNames)
        let server = TCPServer<HTTPServerCodec>(loop: loop, endpoint: listener.endpoint)
        server.onMessage = { [unowned self] connection, request in
            guard request.path == "/metrics" else {
                connection.send(.response(HTTPResponse(status: .notFound, body: "try /metrics\n")))
                return
            }
            let body = self.exporter!.render()
            connection.send(.response(HTTPResponse(headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: body)))
        }
        try server.start(adopting: listener)
        self.server = server
    }

    func stop() { server?.closeAll() }
}
