import WorkermanEventLoop
import WorkermanTransport

/// A GlobalData client for code running on an event loop (walkor/GlobalData's `GlobalData\Client`, made
/// asynchronous): every call returns at once and its callback runs on the loop with the result, so a
/// worker keeps serving while it waits. Several servers share the keys by `crc32(key) % count`, as
/// PHP clients do.
///
/// ```swift
/// worker.onWorkerStart = { worker in
///     let shared = try GlobalDataClient(loop: worker.loop!, servers: ["127.0.0.1:2207"])
///     shared.add("hits", 0)
///     worker.onMessage = { connection, request in
///         shared.increment("hits") { result in
///             connection.send("visit #\(try result.get()?.intValue ?? 0)")
///         }
///     }
/// }
/// ```
///
/// Calls to a server that is down fail fast with `.unreachable`; an unanswered call fails with
/// `.timedOut` after `timeout`. A callback that throws reports to the loop's `errorHandler`.
///
/// For scripts and for code that must have the answer before it goes on, `blocking` offers the same
/// calls in Workerman's blocking form.
///
/// Keep a reference to the client (a worker property, a capture in your handlers): a client that is
/// released closes its connections, and calls still waiting fail with `.closed`.
public final class GlobalDataClient {
    public let loop: EventLoop
    /// The servers, as given.
    public let servers: [String]
    private let links: [GlobalDataLink]
    private var blockingClient: GlobalDataBlockingClient?

    /// Seconds a call may wait for its reply (PHP's client: 5).
    public var timeout: Double {
        didSet { for link in links { link.timeout = timeout } }
    }

    /// Where unexpected replies are reported.
    public var log: ComponentLogger = ComponentLog.standardError {
        didSet { for link in links { link.log = log } }
    }

    /// A client of `servers` (`host:port` or `unix:///path`); nothing connects until the first call.
    ///
    /// - Parameters:
    ///   - pingInterval: seconds between keep-alive frames on an idle connection (nil: none).
    /// - Throws: `GlobalDataError` `.invalidAddress` for an empty list or an address that does not parse.
    public init(loop: EventLoop, servers: [String], timeout: Double = 5, pingInterval: Double? = 25)
        throws(GlobalDataError)
    {
        guard !servers.isEmpty else { throw GlobalDataError(.invalidAddress, server: "", "no servers given") }
        self.loop = loop
        self.servers = servers
        self.timeout = timeout
        var links: [GlobalDataLink] = []
        for server in servers {
            links.append(
                try GlobalDataLink(loop: loop, server: server, timeout: timeout, pingInterval: pingInterval, log: ComponentLog.standardError)
            )
        }
        self.links = links
    }

    deinit {
        for link in links { link.close() }
    }

    /// A client of one server.
    public convenience init(loop: EventLoop, server: String = "127.0.0.1:2207") throws(GlobalDataError) {
        try self.init(loop: loop, servers: [server])
    }

    // MARK: - Calls

    /// The value of `key`, `.null` when it has none (PHP's `$global->key`).
    public func get(_ key: String, _ done: @escaping (Result<PHPValue, GlobalDataError>) throws -> Void) {
        send(.get(key), done) { reply, _ in reply }
    }

    /// Sets `key` (PHP's `$global->key = value`). Setting `.null` removes it.
    public func set(_ key: String, _ value: PHPValue, _ done: ((Result<Void, GlobalDataError>) throws -> Void)? = nil) {
        send(.set(key, value), done ?? { _ in }) { (reply, server) throws(GlobalDataError) in
            try GlobalDataReply.done(reply, server: server)
        }
    }

    /// Sets `key` only if it has no value; the result says whether it did.
    public func add(_ key: String, _ value: PHPValue, _ done: ((Result<Bool, GlobalDataError>) throws -> Void)? = nil) {
        send(.add(key, value), done ?? { _ in }) { (reply, server) throws(GlobalDataError) in
            try GlobalDataReply.flag(reply, server: server)
        }
    }

    /// Removes `key` (PHP's `unset($global->key)`).
    public func remove(_ key: String, _ done: ((Result<Void, GlobalDataError>) throws -> Void)? = nil) {
        send(.delete(key), done ?? { _ in }) { (reply, server) throws(GlobalDataError) in
            try GlobalDataReply.done(reply, server: server)
        }
    }

    /// Whether `key` has a value (PHP's `isset($global->key)`).
    public func exists(_ key: String, _ done: @escaping (Result<Bool, GlobalDataError>) throws -> Void) {
        send(.get(key), done) { reply, _ in reply != .null }
    }

    /// Adds `step` to `key` atomically and gives the new value; nil when `key` has no value (it is not
    /// created). A value that is not a number counts as 0.
    public func increment(
        _ key: String,
        by step: Int = 1,
        _ done: ((Result<PHPValue?, GlobalDataError>) throws -> Void)? = nil
    ) {
        send(.increment(key, step: .int(step)), done ?? { _ in }) { (reply, server) throws(GlobalDataError) in
            try GlobalDataReply.incremented(reply, server: server)
        }
    }

    /// Compare-and-swap: sets `key` to `new` only if its value is still `expected` (`.null` for none);
    /// the result says whether it did. Retry on false with the value read again.
    ///
    /// ```swift
    /// func addItem(_ item: PHPValue) {
    ///     shared.get("list") { result in
    ///         let old = try result.get()
    ///         var list = old.arrayValue ?? PHPArray()
    ///         list.append(item)
    ///         shared.cas("list", expected: old, new: .array(list)) { swapped in
    ///             if try !swapped.get() { addItem(item) }
    ///         }
    ///     }
    /// }
    /// ```
    public func cas(
        _ key: String,
        expected: PHPValue,
        new: PHPValue,
        _ done: @escaping (Result<Bool, GlobalDataError>) throws -> Void
    ) {
        send(.cas(key, expected: expected, new: new), done) { (reply, server) throws(GlobalDataError) in
            try GlobalDataReply.flag(reply, server: server)
        }
    }

    /// The same calls, blocking the calling thread (the loop!) until each answers or times out, on their
    /// own sockets. See `GlobalDataBlockingClient`.
    public var blocking: GlobalDataBlockingClient {
        if let blockingClient { return blockingClient }
        // The addresses were checked by init, so this cannot fail.
        let client = try! GlobalDataBlockingClient(servers: servers, timeout: timeout)
        blockingClient = client
        return client
    }

    /// Closes the connections; calls still waiting fail with `.closed`.
    public func close() {
        for link in links { link.close() }
        blockingClient?.close()
    }

    // MARK: - Plumbing

    private func send<T>(
        _ command: GlobalDataCommand,
        _ done: @escaping (Result<T, GlobalDataError>) throws -> Void,
        interpret: @escaping (PHPValue, String) throws(GlobalDataError) -> T
    ) {
        let link = links[GlobalDataCommand.serverIndex(for: command.key, count: links.count)]
        let loop = self.loop
        link.request(command.body) { result in
            let typed: Result<T, GlobalDataError>
            switch result {
            case .success(let reply):
                do throws(GlobalDataError) {
                    typed = .success(try interpret(reply, link.server))
                } catch {
                    typed = .failure(error)
                }
            case .failure(let error):
                typed = .failure(error)
            }
            do {
                try done(typed)
            } catch {
                loop.errorHandler(error)
            }
        }
    }
}
