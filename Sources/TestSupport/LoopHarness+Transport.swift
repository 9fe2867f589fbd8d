import WorkermanEventLoop
import WorkermanTransport

// What a socket test adds to the loop harness: servers that are stopped at the end, a wait for closes
// still under way, and connections counted among the leaks.
extension LoopHarness {
    /// The loop's transport context: its live connections and counters.
    public var transport: TransportContext { TransportContext.of(loop) }

    /// A started server on `address` (loopback, a port the kernel picks, by default). `finish` stops it
    /// and destroys whatever connections a failed test left open.
    public func startServer<C: Codec>(
        _ codec: C.Type = C.self,
        address: String = "tcp://127.0.0.1:0",
        configure: (TCPServer<C>) -> Void = { _ in }
    ) throws(TransportError) -> TCPServer<C> {
        let server = try TCPServer<C>(loop: loop, address: address)
        configure(server)
        try server.start()
        onTeardown {
            server.stop()
            for connection in server.connections.values { connection.destroy() }
        }
        return server
    }

    /// Runs the loop until no connection is open (the far side of a close may still be closing), for at
    /// most `seconds`; whether all closed.
    @discardableResult
    public func settle(within seconds: Double = 3) -> Bool {
        // A loop that fails to tick here is reported by `finishClosingConnections` as what is left open.
        (try? run(until: { transport.liveConnections.isEmpty }, within: seconds)) ?? false
    }

    /// The end of a socket test: lets closes finish, destroys what is still open, then `finish()`.
    ///
    /// - Returns: The connections that were left open and every other leak; a test expects none.
    @discardableResult
    public func finishClosingConnections() -> [String] {
        settle()
        let open = transport.liveConnections
        var found = open.isEmpty ? [] : ["connections left open: \(transport.connectionListing)"]
        for connection in open { connection.destroy() }
        let counted = transport.statistics.connections
        found += finish()
        if counted != 0 && open.isEmpty { found.append("\(counted) socket(s) counted open") }
        return found
    }
}
