import WorkermanEventLoop
import WorkermanTLS

/// A pool of `MySQLConnection`s on one loop: at most `maxConnections` open, at least `minConnections`
/// kept (reopened when they drop), idle ones closed after `idleTimeout` and checked with COM_PING after
/// `healthCheckInterval`, and a bound on callers waiting for a connection. A connection serves one
/// caller at a time; a connection that fails is discarded, the others are unaffected.
///
/// ```swift
/// let pool = MySQLPool(loop: loop, configuration: try MySQLConfiguration(url: "mysql://app:secret@127.0.0.1/shop"))
/// pool.query("SELECT id, name FROM users WHERE id = ?", [.int(7)]) { result in
///     switch result {
///     case .success(let result): print(try? result.decode(User.self))
///     case .failure(let error): print(error)   // MySQL error 1146 (42S02) from 127.0.0.1:3306: Table … doesn't exist
///     }
/// }
/// ```
public final class MySQLPool {
    public struct Options: Sendable, Equatable {
        /// Connections opened at once and kept open (reopened after a failure).
        public var minConnections = 0
        public var maxConnections = 8
        /// Callers that may wait for a connection when all are busy; one more fails with `.poolExhausted`.
        public var maxWaiters = 1024
        /// Seconds a caller waits for a connection before failing with `.timeout`.
        public var acquireTimeout = 10.0
        /// Seconds after which an idle connection above `minConnections` is closed.
        public var idleTimeout = 60.0
        /// Seconds after which an idle connection is pinged before it is used again.
        public var healthCheckInterval = 30.0

        public init(minConnections: Int = 0, maxConnections: Int = 8) {
            self.minConnections = minConnections
            self.maxConnections = max(1, maxConnections)
        }
    }

    /// Identifies a waiting caller, so it can be cancelled (`cancel(_:)`).
    public struct Ticket: Hashable, Sendable {
        let value: Int
    }

    /// What the pool has seen, for a status page.
    public struct Statistics: Sendable, Equatable {
        /// Queries that completed, successfully or not.
        public var queries = 0
        /// Queries the server refused (ERR packets).
        public var serverErrors = 0
        /// Connections dropped for a malformed answer from the server.
        public var protocolErrors = 0
        /// Connections that closed or failed (after the protocol errors, timeouts, lost servers).
        public var discardedConnections = 0
    }

    public let loop: EventLoop
    public let configuration: MySQLConfiguration
    public let options: Options
    public private(set) var statistics = Statistics()

    private struct Idle {
        let connection: MySQLConnection
        let since: UInt64
    }

    private struct Waiter {
        let ticket: Ticket
        let completion: (Result<MySQLConnection, MySQLError>) -> Void
        let deadline: TimerID?
    }

    private var idle: [Idle] = []
    private var waiters: [Waiter] = []
    /// Open or opening connections.
    public private(set) var connectionCount = 0
    private var nextTicket = 0
    private var maintenance: TimerID?
    /// One TLS context for every connection (loading the trust store once); nil until the first opens.
    private var tlsConfiguration: TLSClientConfiguration?
    private var isClosed = false

    public init(loop: EventLoop, configuration: MySQLConfiguration, options: Options = Options()) {
        self.loop = loop
        self.configuration = configuration
        self.options = options
        let period = max(0.05, min(options.idleTimeout, options.healthCheckInterval) / 2)
        maintenance = try? loop.addTimer(every: period) { [weak self] in self?.maintain() }
        fillToMinimum()
    }

    deinit {
        // A pool dropped without close(): its timer goes with it (its idle connections close as they go).
        if let maintenance { loop.cancelTimer(maintenance) }
    }

    /// Connections idle in the pool.
    public var idleCount: Int { idle.count }
    /// Callers waiting for a connection.
    public var waiterCount: Int { waiters.count }

    // MARK: - Using connections

    /// Runs `sql` on a pooled connection (see `MySQLConnection.query`).
    @discardableResult
    public func query(
        _ sql: String,
        _ parameters: [MySQLValue] = [],
        _ completion: @escaping (Result<MySQLResult, MySQLError>) -> Void
    ) -> Ticket {
        acquire { acquired in
            switch acquired {
            case .failure(let error): completion(.failure(error))
            case .success(let connection):
                connection.query(sql, parameters) { [weak self] result in
                    self?.count(result)
                    self?.release(connection)
                    completion(result)
                }
            }
        }
    }

    /// Lends a connection to `body`, which must call `release(_:)` with it when done (for a transaction,
    /// say). A connection released inside a transaction is rolled back first.
    @discardableResult
    public func acquire(_ completion: @escaping (Result<MySQLConnection, MySQLError>) -> Void) -> Ticket {
        nextTicket += 1
        let ticket = Ticket(value: nextTicket)
        if isClosed {
            loop.nextTick { completion(.failure(MySQLError(.closed, "the pool is closed", server: self.configuration.serverName))) }
            return ticket
        }
        while let candidate = idle.popLast() {
            guard candidate.connection.isReady else { continue }
            completion(.success(candidate.connection))
            return ticket
        }
        guard waiters.count < options.maxWaiters else {
            let error = MySQLError(.poolExhausted, "\(waiters.count) callers already wait for one of \(connectionCount) connections", server: configuration.serverName)
            loop.nextTick { completion(.failure(error)) }
            return ticket
        }
        let timeout = options.acquireTimeout
        let deadline = try? loop.addTimer(after: timeout) { [weak self] in
            self?.failWaiter(ticket, MySQLError(.timeout, "no connection free within \(timeout) s"))
        }
        waiters.append(Waiter(ticket: ticket, completion: completion, deadline: deadline))
        if connectionCount < options.maxConnections { open() }
        return ticket
    }

    /// Gives back a connection lent by `acquire`.
    public func release(_ connection: MySQLConnection) {
        guard connection.isReady, !isClosed else {
            if isClosed { connection.close() }
            return
        }
        if connection.isInTransaction {
            // Left mid-transaction: roll back before anyone else gets it, so no one inherits it.
            connection.query("ROLLBACK") { [weak self] _ in self?.release(connection) }
            return
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            if let deadline = waiter.deadline { loop.cancelTimer(deadline) }
            waiter.completion(.success(connection))
            return
        }
        idle.append(Idle(connection: connection, since: loop.clock.nanoseconds()))
    }

    /// Fails a caller still waiting for a connection with `.cancelled`; does nothing once it has one (a
    /// statement already sent runs to its end).
    public func cancel(_ ticket: Ticket) {
        failWaiter(ticket, MySQLError(.cancelled, "the caller stopped waiting"))
    }

    /// Closes every connection and fails every waiting caller.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        if let maintenance { loop.cancelTimer(maintenance) }
        maintenance = nil
        let error = MySQLError(.closed, "the pool is closed", server: configuration.serverName)
        for waiter in waiters {
            if let deadline = waiter.deadline { loop.cancelTimer(deadline) }
            waiter.completion(.failure(error))
        }
        waiters.removeAll()
        for entry in idle { entry.connection.close() }
        idle.removeAll()
    }

    // MARK: - Opening, checking, discarding

    private func open() {
        connectionCount += 1
        let connection = MySQLConnection(loop: loop, configuration: configuration)
        if configuration.tls != .disabled {
            // A configuration that cannot be made is left to the connection, whose connect reports why.
            tlsConfiguration = tlsConfiguration ?? (try? configuration.makeTLSConfiguration())
            connection.tlsConfiguration = tlsConfiguration
        }
        connection.onClose = { [weak self, unowned connection] reason in self?.discard(connection, reason) }
        connection.connect { [weak self] result in
            guard let self else { return }
            switch result {
            case .success: self.release(connection)
            case .failure(let error):
                // One connection was opened for one waiter: that waiter hears why it failed.
                if let waiter = self.waiters.first { self.failWaiter(waiter.ticket, error) }
            }
        }
    }

    private func count(_ result: Result<MySQLResult, MySQLError>) {
        statistics.queries += 1
        if case .failure(let error) = result, error.code == .server { statistics.serverErrors += 1 }
    }

    private func discard(_ connection: MySQLConnection, _ reason: MySQLError) {
        connectionCount -= 1
        statistics.discardedConnections += 1
        if reason.code == .protocolViolation { statistics.protocolErrors += 1 }
        idle.removeAll { $0.connection === connection }
        guard !isClosed else { return }
        if !waiters.isEmpty, connectionCount < options.maxConnections { open() }
    }

    private func failWaiter(_ ticket: Ticket, _ error: MySQLError) {
        guard let index = waiters.firstIndex(where: { $0.ticket == ticket }) else { return }
        let waiter = waiters.remove(at: index)
        if let deadline = waiter.deadline { loop.cancelTimer(deadline) }
        waiter.completion(.failure(error.from(configuration.serverName)))
    }

    private func fillToMinimum() {
        while !isClosed, connectionCount < min(options.minConnections, options.maxConnections) { open() }
    }

    /// Closes connections idle past `idleTimeout` (above the minimum), pings those idle past
    /// `healthCheckInterval`, and reopens up to the minimum.
    private func maintain() {
        let now = loop.clock.nanoseconds()
        var kept: [Idle] = []
        var checked: [MySQLConnection] = []
        for entry in idle {
            let seconds = Double(now &- entry.since) / 1e9
            if seconds >= options.idleTimeout, connectionCount - checked.count > options.minConnections {
                entry.connection.close()  // its onClose discards it
            } else if seconds >= options.healthCheckInterval {
                checked.append(entry.connection)
            } else {
                kept.append(entry)
            }
        }
        idle = kept
        for connection in checked {
            connection.ping { [weak self] result in
                // A failed ping closed the connection (discarded via onClose); a good one is back in service.
                if case .success = result { self?.release(connection) } else { connection.close() }
            }
        }
        fillToMinimum()
    }
}

@available(*, unavailable)
extension MySQLPool: Sendable {}

@available(*, unavailable)
extension MySQLConnection: Sendable {}
