import WorkermanEventLoop
import WorkermanTLS
import WorkermanTransport

/// One non-blocking connection to a MySQL or MariaDB server, on the loop it was made on. Calls queue and
/// run one at a time (the protocol answers in order, and one connection never runs two statements at
/// once); every call's completion runs exactly once, on the loop, with a typed `MySQLError` on failure,
/// so an `async` form is a thin wrapper. Parameters are always bound through a prepared statement
/// (cached per connection by SQL text), never interpolated.
///
/// ```swift
/// let connection = MySQLConnection(loop: loop, configuration: try MySQLConfiguration(url: "mysql://app:secret@127.0.0.1/shop"))
/// connection.connect { _ in }
/// connection.query("SELECT name FROM users WHERE id = ?", [.int(7)]) { result in
///     print(try? result.get().rows.first?["name"] ?? .null)
/// }
/// ```
///
/// A malformed packet, a stalled server (`queryTimeout`) or a lost connection fails the call in
/// progress and every queued one with an error naming the server, and closes the connection.
public final class MySQLConnection {
    public typealias Completion<Value> = (Result<Value, MySQLError>) -> Void

    public let loop: EventLoop
    public let configuration: MySQLConfiguration
    /// Called once when the connection is gone for good, with the reason (calls waiting have failed by then).
    public var onClose: ((MySQLError) -> Void)?
    /// The server's version string, once logged in.
    public private(set) var serverVersion = ""
    /// The server's id for this connection (what `KILL` takes).
    public private(set) var connectionID: UInt32 = 0
    /// Logged in and not closed.
    public var isReady: Bool { loggedIn && closeReason == nil }
    /// Whether the last finished statement left a transaction open (the server's status flag).
    public private(set) var isInTransaction = false

    private var transport: TCPClient<MySQLPacketCodec>?
    private var session: MySQLSession
    private var loggedIn = false
    private var closeReason: MySQLError?
    private var connectCompletion: Completion<Void>?
    /// Calls not started yet, from `waitingHead` on; a started call's slot is emptied at once, so a
    /// finished call's completion (which often holds this connection) is not kept alive by it.
    private var waiting: [Call?] = []
    private var waitingHead = 0
    private var current: Call?
    private var timeout: TimerID?
    private var lastPacketAt: UInt64 = 0
    private var statements: [String: MySQLStatement] = [:]
    /// The TLS settings (an OpenSSL context with the trust store loaded): made at connect, or shared by
    /// the pool's connections, which set it first.
    var tlsConfiguration: TLSClientConfiguration?
    private var nextTicket = 0

    /// A call waiting or in progress.
    private struct Call {
        enum Work {
            case command(MySQLCommand)
            case prepared(sql: String, parameters: [MySQLValue])
        }
        var work: Work
        /// Names the call for `cancelQueued` (the async forms withdraw a call their task gave up on).
        let ticket: Int
        let completion: Completion<MySQLSession.Completion>
    }

    public init(loop: EventLoop, configuration: MySQLConfiguration) {
        self.loop = loop
        self.configuration = configuration
        session = MySQLSession(
            credentials: .init(
                user: configuration.user,
                password: configuration.password,
                database: configuration.database,
                isSecureTransport: configuration.socketPath != nil,
                initialPlugin: configuration.defaultAuthPlugin,
                tls: configuration.tls,
                allowPublicKeyRetrieval: configuration.allowPublicKeyRetrieval
            )
        )
    }

    deinit {
        // Dropped while open: nobody can use it any more, so its socket goes (the transport context
        // would otherwise keep it open).
        if closeReason == nil, let transport {
            transport.onClose = nil
            transport.destroy()
        }
    }

    /// Whether a call is running or queued.
    public var isBusy: Bool { current != nil || waitingHead < waiting.count }

    // MARK: - Calls

    /// Connects and logs in; `completion` runs once, on the loop.
    public func connect(_ completion: @escaping Completion<Void>) {
        guard transport == nil, closeReason == nil else {
            loop.nextTick { completion(.failure(MySQLError(.connection, "connect() called twice", server: self.configuration.serverName))) }
            return
        }
        let transport: TCPClient<MySQLPacketCodec>
        do {
            transport = try TCPClient<MySQLPacketCodec>(loop: loop, url: configuration.transportURL)
            try prepareSecurity()
        } catch {
            let reason = (error as? MySQLError)?.from(configuration.serverName) ?? MySQLError(.invalidArgument, "\(error)", server: configuration.serverName)
            closeReason = reason
            loop.nextTick { completion(.failure(reason)) }
            return
        }
        connectCompletion = completion
        transport.connectTimeout = configuration.connectTimeout
        transport.maxPackageSize = configuration.maxPacketSize
        transport.onMessage = { [weak self] _, packet in self?.received(packet) }
        transport.onError = { [weak self] client, error in
            // A TLS failure seen while sending carries only EPROTO: the stream kept OpenSSL's reason.
            let reason = (client.byteStream as? TLSStream)?.failureReason.map { ": \($0)" } ?? ""
            self?.fail(MySQLError(.connection, "\(error)\(reason)"))
        }
        transport.onClose = { [weak self] _ in
            self?.fail(MySQLError(.connection, self?.loggedIn == true ? "the server closed the connection" : "the server closed the connection while logging in"))
        }
        self.transport = transport
        armTimeout(configuration.connectTimeout, "logging in")
        transport.connect()
    }

    /// Runs `sql`: with no parameters as a text query (several statements allowed: one result set
    /// each), otherwise as a prepared statement with `parameters` bound in order to its `?` marks.
    public func query(_ sql: String, _ parameters: [MySQLValue] = [], _ completion: @escaping Completion<MySQLResult>) {
        queryCall(sql, parameters, completion)
    }

    /// `query`, answering the call's ticket for `cancelQueued`.
    @discardableResult
    func queryCall(_ sql: String, _ parameters: [MySQLValue], _ completion: @escaping Completion<MySQLResult>) -> Int {
        let work: Call.Work = parameters.isEmpty ? .command(.query(sql)) : .prepared(sql: sql, parameters: parameters)
        return enqueue(work) { outcome in
            switch outcome {
            case .success(.result(let result)): completion(.success(result))
            case .success: completion(.failure(MySQLError(.protocolViolation, "a query answered with something else")))
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    /// COM_PING: succeeds when the server answers.
    public func ping(_ completion: @escaping Completion<Void>) {
        enqueue(.command(.ping)) { outcome in completion(outcome.map { _ in () }) }
    }

    /// Withdraws a call that has not been sent yet: it fails with `.cancelled` and never runs. Returns
    /// false (and does nothing) once it was sent: a statement on the wire runs to its end, so the
    /// connection is never left mid-answer.
    @discardableResult
    func cancelQueued(_ ticket: Int) -> Bool {
        guard waitingHead < waiting.count,
            let index = waiting[waitingHead...].firstIndex(where: { $0?.ticket == ticket }),
            let call = waiting[index]
        else { return false }
        waiting[index] = nil  // the slot is skipped when its turn comes
        call.completion(.failure(MySQLError(.cancelled, "the caller stopped waiting", server: configuration.serverName)))
        return true
    }

    /// Sends COM_QUIT and closes; calls still waiting fail with `.closed`.
    public func close() {
        guard closeReason == nil else { return }
        if loggedIn, let transport {
            // Flushed, then closed: the server ends the session at once instead of logging an abort.
            transport.send(MySQLCommand.quit.packet)
            transport.close()
        }
        fail(MySQLError(.closed, "the connection was closed by the client"))
    }

    // MARK: - Running calls

    @discardableResult
    private func enqueue(_ work: Call.Work, _ completion: @escaping Completion<MySQLSession.Completion>) -> Int {
        nextTicket &+= 1
        if let closeReason {
            loop.nextTick { completion(.failure(closeReason)) }
            return nextTicket
        }
        if transport == nil {
            let error = MySQLError(.connection, "not connected (call connect first)", server: configuration.serverName)
            loop.nextTick { completion(.failure(error)) }
            return nextTicket
        }
        waiting.append(Call(work: work, ticket: nextTicket, completion: completion))
        startNext()
        return nextTicket
    }

    private func startNext() {
        guard loggedIn, current == nil, closeReason == nil else { return }
        // Withdrawn calls (`cancelQueued`) left empty slots: skip them.
        while waitingHead < waiting.count, waiting[waitingHead] == nil { waitingHead += 1 }
        guard waitingHead < waiting.count, let call = waiting[waitingHead] else {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
            return
        }
        waiting[waitingHead] = nil
        waitingHead += 1
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead > 64, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        current = call
        switch call.work {
        case .command(let command): send(command)
        case .prepared(let sql, let parameters):
            if let statement = statements[sql] {
                execute(statement, parameters)
            } else {
                send(.prepare(sql))
            }
        }
    }

    private func send(_ command: MySQLCommand) {
        transport?.send(session.start(command))
        if command.expectsResponse, let queryTimeout = configuration.queryTimeout { armTimeout(queryTimeout, "a query") }
    }

    private func execute(_ statement: MySQLStatement, _ parameters: [MySQLValue]) {
        guard statement.parameterCount == parameters.count else {
            finishCurrent(.failure(MySQLError(.invalidArgument, "the statement has \(statement.parameterCount) parameters, \(parameters.count) given")))
            return
        }
        send(.execute(statement, parameters))
    }

    private func received(_ packet: MySQLPacket) {
        guard closeReason == nil else { return }
        if timeout != nil { lastPacketAt = loop.clock.nanoseconds() }
        let outputs: [MySQLSession.Output]
        do {
            outputs = try session.receive(packet)
        } catch {
            fail(error)
            return
        }
        for output in outputs {
            switch output {
            case .send(let packet): transport?.send(packet)
            case .startTLS: startTLS()
            case .ready(let version, let id):
                loggedIn = true
                serverVersion = version
                connectionID = id
                cancelTimeout()
                let completion = connectCompletion
                connectCompletion = nil
                completion?(.success(()))
                startNext()
            case .completed(.prepared(let statement)):
                guard case .prepared(let sql, let parameters) = current?.work else { continue }
                cacheStatement(statement, for: sql)
                execute(statement, parameters)
            case .completed(let completion):
                if case .result(let result) = completion {
                    isInTransaction = (result.sets.last?.status ?? 0) & MySQLServerStatus.inTransaction != 0
                }
                finishCurrent(.success(completion))
            case .failed(let error):
                finishCurrent(.failure(error.from(configuration.serverName)))
            }
        }
    }

    private func cacheStatement(_ statement: MySQLStatement, for sql: String) {
        if statements.count >= configuration.statementCacheSize, let evicted = statements.first {
            // Any one goes: a bounded cache matters, which statement is dropped hardly does.
            statements.removeValue(forKey: evicted.key)
            transport?.send(session.start(.closeStatement(evicted.value.id)))
        }
        if configuration.statementCacheSize > 0 { statements[sql] = statement }
    }

    private func finishCurrent(_ outcome: Result<MySQLSession.Completion, MySQLError>) {
        cancelTimeout()
        guard let call = current else { return }
        current = nil
        call.completion(outcome)
        startNext()
    }

    // MARK: - Security

    /// Reads the server's public key file, and makes the TLS configuration, before connecting: a file
    /// that is missing or a TLS library that cannot load fail `connect` with the reason.
    private func prepareSecurity() throws {
        if let path = configuration.serverPublicKeyFile {
            do {
                session.credentials.serverPublicKey = try Syscalls.readFile(path)
            } catch {
                throw MySQLError(.invalidArgument, "cannot read the server's public key \(path): \(error)")
            }
        }
        guard configuration.tls != .disabled, tlsConfiguration == nil else { return }
        tlsConfiguration = try configuration.makeTLSConfiguration()
    }

    /// The SSLRequest is out: TLS over the same socket, and the login once the handshake is done (a
    /// certificate that does not verify ends in `onError` with OpenSSL's reason).
    private func startTLS() {
        guard let transport, let tlsConfiguration else { return }
        transport.onConnect = { [weak self] _ in
            guard let self, self.closeReason == nil else { return }
            self.transport?.onConnect = nil
            for case .send(let packet) in self.session.secured() { self.transport?.send(packet) }
        }
        do {
            try transport.startTLS(tlsConfiguration, host: configuration.tlsServerName ?? configuration.host)
        } catch {
            fail(MySQLError(.connection, "\(error)"))
        }
    }

    // MARK: - Failing

    /// Fails the connection when the server sends nothing for `seconds` while `what` is under way. A
    /// long result that keeps arriving is not cut: each packet moves `lastPacketAt`, and the timer, when
    /// it fires early, waits on for the rest (cheaper than re-arming a timer per row).
    private func armTimeout(_ seconds: Double, _ what: String) {
        cancelTimeout()
        lastPacketAt = loop.clock.nanoseconds()
        timeout = try? loop.addTimer(after: seconds) { [weak self] in self?.timeoutFired(seconds, what) }
    }

    private func timeoutFired(_ seconds: Double, _ what: String) {
        timeout = nil
        let quiet = Double(loop.clock.nanoseconds() &- lastPacketAt) / 1e9
        if quiet < seconds {
            timeout = try? loop.addTimer(after: seconds - quiet) { [weak self] in self?.timeoutFired(seconds, what) }
            return
        }
        fail(MySQLError(.timeout, "no answer while \(what) within \(seconds) s"))
    }

    private func cancelTimeout() {
        if let timeout { loop.cancelTimer(timeout) }
        timeout = nil
    }

    /// Closes for good: everything waiting fails with `error`, named with this server.
    private func fail(_ error: MySQLError) {
        guard closeReason == nil else { return }
        let error = error.from(configuration.serverName)
        closeReason = error
        cancelTimeout()
        let transport = self.transport
        transport?.onClose = nil
        transport?.onMessage = nil
        transport?.onError = nil
        // A graceful close (COM_QUIT queued) flushes; anything else, a login under way included, goes now.
        if error.code != .closed || !loggedIn { transport?.destroy() }
        if let completion = connectCompletion {
            connectCompletion = nil
            completion(.failure(error))
        }
        var calls = current.map { [$0] } ?? []
        calls += waiting[waitingHead...].compactMap { $0 }
        current = nil
        waiting = []
        waitingHead = 0
        for call in calls { call.completion(.failure(error)) }
        onClose?(error)
    }
}
