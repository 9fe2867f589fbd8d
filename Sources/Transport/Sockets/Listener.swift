import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Socket options for a listener, with Workerman's defaults.
public struct ListenOptions: Hashable, Sendable {
    /// Workerman's `DEFAULT_BACKLOG`, 102400; the kernel caps it at `net.core.somaxconn`.
    public var backlog: CInt = 102_400
    /// `SO_REUSEPORT`: each process binds its own socket and the kernel balances between them.
    public var reusePort = false
    /// Workerman sets `TCP_NODELAY` and `SO_KEEPALIVE` on TCP listeners; accepted sockets inherit them.
    public var noDelay = true
    public var keepAlive = true
    /// Accepts per readiness event, until EAGAIN or this many (Workerman accepts one). A worker whose
    /// processes share one listener accepts one unless this was changed (an even split of a burst).
    public var acceptBatch = 64

    public init() {}
}

/// A bound, listening socket (TCP, unix stream or UDP): created and bound here, or adopted from a
/// descriptor inherited from a parent process.
public final class Listener {
    public let fd: CInt
    public let endpoint: Endpoint
    /// The bound address (with the real port when asked for port 0).
    public let address: SocketAddress
    private var ownsUnixPath: Bool
    private var closed = false

    /// Creates, binds and (for streams) listens.
    ///
    /// - Throws: `TransportError` `.listenFailed` naming the address and the reason (in use, missing
    ///   directory, permission), or `.invalidAddress`.
    public init(endpoint: Endpoint, options: ListenOptions = ListenOptions()) throws(TransportError) {
        guard let address = try endpoint.numericAddress() else {
            throw TransportError(.invalidAddress, "listen on \(endpoint)", detail: "listen addresses must be numeric IPs")
        }
        let operation = "listen on \(endpoint)"
        let type = endpoint.transport == .udp ? SOCK_DGRAM : SOCK_STREAM
        let fd: CInt
        do {
            fd = try SocketCalls.socket(domain: address.family, type: CInt(type.rawValue))
        } catch {
            throw TransportError(.listenFailed, operation, cause: error)
        }
        do {
            if address.family != AF_UNIX {
                try SocketCalls.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
                if options.reusePort { try SocketCalls.setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
                if address.family == AF_INET6 { try SocketCalls.setOption(fd, CInt(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
            } else {
                try Self.removeStaleUnixSocket(address)
            }
            try SocketCalls.bind(fd, address)
            if endpoint.transport != .udp {
                try SocketCalls.listen(fd, backlog: options.backlog)
                if endpoint.transport == .tcp {
                    if options.noDelay { try SocketCalls.setOption(fd, CInt(IPPROTO_TCP), TCP_NODELAY, 1) }
                    if options.keepAlive { try SocketCalls.setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1) }
                }
            }
        } catch {
            try? Syscalls.close(fd)  // abandoning a half-made socket
            throw TransportError(.listenFailed, operation, cause: error, detail: Self.explain(error, address))
        }
        self.fd = fd
        self.endpoint = endpoint
        self.address = SocketCalls.localAddress(fd) ?? address
        self.ownsUnixPath = address.family == AF_UNIX
    }

    /// Adopts a listening descriptor inherited from a parent process.
    public init(adopting fd: CInt, endpoint: Endpoint) throws(TransportError) {
        guard let address = SocketCalls.localAddress(fd) else {
            throw TransportError(.listenFailed, "adopt fd \(fd) for \(endpoint)", cause: .badFileDescriptor)
        }
        self.fd = fd
        self.endpoint = endpoint
        self.address = address
        self.ownsUnixPath = false  // the process that bound it removes the file
    }

    deinit { close() }

    /// Leaves a unix socket file in place when this listener closes: another process (the new master of
    /// an upgrade) serves on the same socket.
    package func keepUnixPathOnClose() { ownsUnixPath = false }

    /// Closes the socket (and removes a unix socket file this listener created). Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        try? Syscalls.close(fd)  // a listener's close cannot fail in a way worth reporting
        // Gone already (removed by hand, or by a successor that re-bound it): nothing to remove.
        if ownsUnixPath, case .unix(let path) = address { try? Syscalls.unlink(path) }
    }

    /// A unix socket file left by a dead process refuses connections: remove it. A live one is left alone,
    /// and bind then reports "address in use".
    private static func removeStaleUnixSocket(_ address: SocketAddress) throws(Errno) {
        guard case .unix(let path) = address else { return }
        guard let info = try? Syscalls.linkStatus(path), (info.st_mode & S_IFMT) == S_IFSOCK else { return }
        let probe = try SocketCalls.socket(domain: AF_UNIX, type: CInt(SOCK_STREAM.rawValue))
        defer { try? Syscalls.close(probe) }
        do {
            _ = try SocketCalls.connect(probe, address)
        } catch Errno.connectionRefused {
            try? Syscalls.unlink(path)  // bind then reports what is still wrong
        } catch {
            return
        }
    }

    private static func explain(_ error: Errno, _ address: SocketAddress) -> String? {
        switch error {
        case .addressInUse: return "address already in use"
        case .noSuchFileOrDirectory: return "the directory of \(address) does not exist"
        case Errno(rawValue: EACCES): return "permission denied (ports below 1024 need root)"
        case Errno(rawValue: EADDRNOTAVAIL): return "not an address of this machine"
        default: return nil
        }
    }
}

extension Listener {
    /// The listener a server starts on: `inherited` when given, else a new one bound to `endpoint`, watched
    /// for readability on `loop`. `TCPServer` (accepting) and `UDPConnection` (receiving) start this way.
    ///
    /// - Throws: what `init(endpoint:options:)` throws, or `.loopFailed` naming `operation` when the loop
    ///   refuses the descriptor.
    static func watched(
        adopting inherited: Listener?,
        endpoint: Endpoint,
        options: ListenOptions,
        on loop: EventLoop,
        operation: String,
        _ watcher: @escaping (IOEvents) throws -> Void
    ) throws(TransportError) -> Listener {
        let listener: Listener
        if let inherited {
            listener = inherited
        } else {
            listener = try Listener(endpoint: endpoint, options: options)
        }
        do {
            try loop.watch(listener.fd, for: .readable, watcher)
        } catch {
            throw TransportError(.loopFailed, operation, detail: "\(error)")
        }
        return listener
    }
}
