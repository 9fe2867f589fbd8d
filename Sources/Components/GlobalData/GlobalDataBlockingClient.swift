import WorkermanTransport

/// GlobalData in Workerman's blocking form: each call sends its request and **blocks the calling
/// thread** until the reply arrives or `timeout` passes. Called from a worker, it stalls that worker's
/// whole event loop for the round trip, so prefer `GlobalDataClient` there; this form suits scripts,
/// start-up code and tools. One socket per server, opened on first use and reopened after any failure.
///
/// ```swift
/// let shared = try GlobalDataBlockingClient(servers: ["127.0.0.1:2207"])
/// try shared.set("config", ["mode": "maintenance"])
/// let visits = try shared.increment("visits")      // PHPValue?: the new value
/// ```
public final class GlobalDataBlockingClient {
    public let servers: [String]
    public let timeout: Double
    private let sockets: [BlockingFrameSocket]

    /// - Throws: `GlobalDataError` `.invalidAddress` for an empty server list.
    public init(servers: [String], timeout: Double = 5) throws(GlobalDataError) {
        guard !servers.isEmpty else { throw GlobalDataError(.invalidAddress, server: "", "no servers given") }
        self.servers = servers
        self.timeout = timeout
        sockets = servers.map { BlockingFrameSocket(server: $0, timeout: timeout) }
    }

    /// The value of `key`; `.null` when it has none.
    public func get(_ key: String) throws(GlobalDataError) -> PHPValue {
        try call(.get(key)).reply
    }

    /// Sets `key`; `.null` removes it.
    public func set(_ key: String, _ value: PHPValue) throws(GlobalDataError) {
        let (reply, server) = try call(.set(key, value))
        try GlobalDataReply.done(reply, server: server)
    }

    /// Sets `key` only if it has no value; returns whether it did.
    @discardableResult
    public func add(_ key: String, _ value: PHPValue) throws(GlobalDataError) -> Bool {
        let (reply, server) = try call(.add(key, value))
        return try GlobalDataReply.flag(reply, server: server)
    }

    /// Removes `key`.
    public func remove(_ key: String) throws(GlobalDataError) {
        let (reply, server) = try call(.delete(key))
        try GlobalDataReply.done(reply, server: server)
    }

    /// Whether `key` has a value.
    public func exists(_ key: String) throws(GlobalDataError) -> Bool {
        try get(key) != .null
    }

    /// Adds `step` atomically; the new value, or nil when `key` has no value.
    @discardableResult
    public func increment(_ key: String, by step: Int = 1) throws(GlobalDataError) -> PHPValue? {
        let (reply, server) = try call(.increment(key, step: .int(step)))
        return try GlobalDataReply.incremented(reply, server: server)
    }

    /// Sets `key` to `new` only if its value is still `expected`; returns whether it did.
    public func cas(_ key: String, expected: PHPValue, new: PHPValue) throws(GlobalDataError) -> Bool {
        let (reply, server) = try call(.cas(key, expected: expected, new: new))
        return try GlobalDataReply.flag(reply, server: server)
    }

    /// Closes the sockets (the next call opens them again).
    public func close() {
        for socket in sockets { socket.close() }
    }

    private func call(_ command: GlobalDataCommand) throws(GlobalDataError) -> (reply: PHPValue, server: String) {
        let socket = sockets[GlobalDataCommand.serverIndex(for: command.key, count: sockets.count)]
        let body = try socket.exchange(command.body)
        return (try GlobalDataReply.parse(body, server: socket.server), socket.server)
    }
}
