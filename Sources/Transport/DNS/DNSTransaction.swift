import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// One question (name, type) asked of the configured servers until one answers: over UDP from the
/// resolver's socket pool with a random id per try; a datagram that is not the answer (another id,
/// another question, another sender) is ignored and counted, never believed; a truncated answer is
/// asked again over TCP; SERVFAIL/REFUSED move on to the next server at once; no answer within
/// `timeout` moves on too, for `attempts` rounds.
final class DNSTransaction {
    private unowned let resolver: DNSResolver
    private let loop: EventLoop
    /// The resolver's key for this question (its deadlines name it, not the object).
    let serial: Int
    let name: String
    let type: DNSRecordType
    private let servers: [SocketAddress]
    private let totalTries: Int
    private var tries = 0
    /// Bumped at every try (and at the switch to TCP): a deadline of an earlier one is stale.
    private var generation = 0
    private var server: SocketAddress?
    /// The query, built once; each try writes its own id into the first two bytes.
    private var query: [UInt8] = []
    private var id: UInt16 = 0
    /// The pooled socket the current UDP try is pending on.
    private var socket: DNSSocketPool.Socket?
    private var tcpFD: CInt = -1
    /// Over TCP: the query still to write, then the bytes read so far.
    private var tcpOutput: [UInt8] = []
    private var tcpInput: [UInt8] = []
    private var isTCP = false
    private var lastError: DNSError?
    private var completion: ((Result<DNSMessage, DNSError>) -> Void)?

    init(resolver: DNSResolver, serial: Int, name: String, type: DNSRecordType, servers: [SocketAddress], attempts: Int,
         completion: @escaping (Result<DNSMessage, DNSError>) -> Void) {
        self.resolver = resolver
        loop = resolver.loop
        self.serial = serial
        self.name = name
        self.type = type
        self.servers = servers
        totalTries = servers.count * max(1, attempts)
        self.completion = completion
    }

    func start() {
        guard !servers.isEmpty else { return finish(.failure(DNSError(.unavailable, "no name server configured"))) }
        do {
            query = try DNSMessage.query(id: 0, name: name, type: type)
        } catch {
            return finish(.failure(error))
        }
        tryNext()
    }

    func cancel() {
        finish(.failure(DNSError(.cancelled, "\(name): the resolver was closed")))
    }

    /// Drops the question without a word, from the resolver's deinit (which `resolver` must not be
    /// touched from): a TCP socket is closed here, the pooled one by the pool's own deinit.
    func abandon() {
        completion = nil
        socket = nil
        closeTCP()
    }

    /// The deadline of try `generation` passed.
    func timedOut(generation: Int) {
        guard generation == self.generation, completion != nil else { return }
        lastError = DNSError(.timeout, "\(name) \(type): no answer from \(server?.description ?? "?") within \(resolver.configuration.timeout) s")
        tryNext()
    }

    // MARK: - UDP

    private func tryNext() {
        endTry()
        guard tries < totalTries else {
            return finish(.failure(lastError ?? DNSError(.timeout, "\(name) \(type): no answer from \(servers.map(\.description).joined(separator: ", "))")))
        }
        let server = servers[tries % servers.count]
        tries += 1
        self.server = server
        isTCP = false
        do {
            (socket, id) = try resolver.pool.send(&query, to: server, for: self)
        } catch {
            lastError = DNSError(error.code, "\(name): \(error.detail)")
            return tryNext()
        }
        resolver.querySent(self, generation: newGeneration())
    }

    private func newGeneration() -> Int {
        generation += 1
        return generation
    }

    /// A datagram with this question's id on its socket.
    func received(_ bytes: [UInt8], from sender: SocketAddress, oversized: Bool) {
        guard !isTCP, let server, Self.sameEndpoint(sender, server) else {
            resolver.ignoredResponses += 1  // another sender: spoofed or stray
            return
        }
        accept(bytes, oversized: oversized)
    }

    /// Checks a candidate answer against the question; acts on it only if it is ours.
    private func accept(_ bytes: [UInt8], oversized: Bool = false) {
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id else {
            resolver.ignoredResponses += 1
            return
        }
        let message: DNSMessage
        do {
            message = try DNSMessage.parse(bytes)
        } catch {
            if oversized { return askOverTCP() }
            // Our id, but broken: this server is no use for this question.
            lastError = DNSError(.malformed, "\(name) from \(server?.description ?? "?"): \(error.detail)")
            resolver.ignoredResponses += 1
            return tryNext()
        }
        guard message.isResponse, message.questionType == type, message.questionName == name else {
            resolver.ignoredResponses += 1
            return
        }
        if (message.isTruncated || oversized) && !isTCP { return askOverTCP() }
        switch message.responseCode {
        case 0, 3: finish(.success(message))
        default:
            let code = [1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED"][Int(message.responseCode)] ?? "RCODE \(message.responseCode)"
            lastError = DNSError(.serverFailure, "\(name) \(type): \(server?.description ?? "?") answered \(code)")
            tryNext()
        }
    }

    /// Whether a datagram's sender is the server asked: family, address and port compared as bytes
    /// (`SocketAddress`'s `==` compares their texts, two `inet_ntop` calls per datagram).
    static func sameEndpoint(_ sender: SocketAddress, _ server: SocketAddress) -> Bool {
        switch (sender, server) {
        case (.ipv4(let a), .ipv4(let b)):
            return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
        case (.ipv6(let a), .ipv6(let b)):
            return a.sin6_port == b.sin6_port && a.sin6_scope_id == b.sin6_scope_id
                && withUnsafeBytes(of: a.sin6_addr) { left in withUnsafeBytes(of: b.sin6_addr) { right in left.elementsEqual(right) } }
        default:
            return false
        }
    }

    // MARK: - TCP (after a truncated answer)

    private func askOverTCP() {
        guard let server else { return tryNext() }
        endTry()
        isTCP = true
        id = resolver.pool.randomID()
        query[0] = UInt8(id >> 8)
        query[1] = UInt8(id & 0xff)
        tcpOutput = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
        tcpInput = []
        do {
            tcpFD = try SocketCalls.socket(domain: server.family, type: CInt(SOCK_STREAM.rawValue))
            _ = try SocketCalls.connect(tcpFD, server)
            try loop.watch(tcpFD, for: .writable) { [weak self] events in self?.tcpReady(events) }
        } catch {
            lastError = DNSError(.unavailable, "\(name): TCP to \(server) failed: \(error)")
            return tryNext()
        }
        resolver.querySent(self, generation: newGeneration())
    }

    private func tcpReady(_ events: IOEvents) {
        if !tcpOutput.isEmpty {
            let result = try? tcpOutput.withUnsafeBytes { (bytes) throws(Errno) in try SocketCalls.send(tcpFD, bytes) }
            switch result {
            case .processed(let written)?:
                tcpOutput.removeFirst(written)
                if tcpOutput.isEmpty { try? loop.setInterest(.readable, for: tcpFD) }
            case .wouldBlock?: return
            case nil:
                lastError = DNSError(.serverFailure, "\(name): TCP to \(server?.description ?? "?") failed")
                return tryNext()
            }
            return
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let result = try? chunk.withUnsafeMutableBytes { (raw) throws(Errno) in try Syscalls.read(tcpFD, raw.baseAddress!, raw.count) }
        switch result {
        case .processed(let count)? where count > 0:
            tcpInput += chunk[..<count]
            guard tcpInput.count >= 2 else { return }
            let length = Int(tcpInput[0]) << 8 | Int(tcpInput[1])
            guard tcpInput.count >= 2 + length else { return }
            accept(Array(tcpInput[2..<(2 + length)]))
            if tcpFD >= 0, isTCP, completion != nil {
                // Read a whole message that was not our answer: nothing else will come on this stream.
                lastError = DNSError(.serverFailure, "\(name): \(server?.description ?? "?") sent a TCP answer to another question")
                tryNext()
            }
        case .wouldBlock?: return
        default:
            lastError = DNSError(.serverFailure, "\(name): \(server?.description ?? "?") closed the TCP connection without an answer")
            tryNext()
        }
    }

    // MARK: - End

    /// Leaves the current try: its pooled id is freed, its TCP socket closed; its deadline goes stale.
    private func endTry() {
        generation += 1
        if let socket {
            resolver.pool.release(socket, id)
            self.socket = nil
        }
        closeTCP()
    }

    private func closeTCP() {
        guard tcpFD >= 0 else { return }
        loop.unwatch(tcpFD)
        try? Syscalls.close(tcpFD)  // a fresh socket we own: nothing to report if close fails
        tcpFD = -1
    }

    private func finish(_ result: Result<DNSMessage, DNSError>) {
        endTry()
        guard let completion else { return }
        self.completion = nil
        resolver.transactionEnded(self)
        completion(result)
    }
}
