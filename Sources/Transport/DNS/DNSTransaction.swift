import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// One question (name, type) asked of the configured servers until one answers: UDP from a fresh
/// socket per try (the kernel picks a random source port) with a random id; a datagram that is not the
/// answer (another id, another question, another sender) is ignored and counted, never believed; a
/// truncated answer is asked again over TCP; SERVFAIL/REFUSED move on to the next server at once; no
/// answer within `timeout` moves on too, for `attempts` rounds.
final class DNSTransaction {
    private unowned let resolver: DNSResolver
    let name: String
    let type: DNSRecordType
    private let servers: [SocketAddress]
    private let totalTries: Int
    private var tries = 0
    private var server: SocketAddress?
    private var id: UInt16 = 0
    private var fd: CInt = -1
    private var timer: TimerID?
    private var lastError: DNSError?
    /// Over TCP: the query still to write, then the bytes read so far.
    private var tcpOutput: [UInt8] = []
    private var tcpInput: [UInt8] = []
    private var isTCP = false
    private var completion: ((Result<DNSMessage, DNSError>) -> Void)?

    init(resolver: DNSResolver, name: String, type: DNSRecordType, servers: [SocketAddress], attempts: Int,
         completion: @escaping (Result<DNSMessage, DNSError>) -> Void) {
        self.resolver = resolver
        self.name = name
        self.type = type
        self.servers = servers
        totalTries = servers.count * max(1, attempts)
        self.completion = completion
    }

    private var loop: EventLoop { resolver.loop }

    func start() {
        guard !servers.isEmpty else { return finish(.failure(DNSError(.unavailable, "no name server configured"))) }
        tryNext()
    }

    func cancel() {
        finish(.failure(DNSError(.cancelled, "\(name): the resolver was closed")))
    }

    // MARK: - UDP

    private func tryNext() {
        closeSocket()
        guard tries < totalTries else {
            return finish(.failure(lastError ?? DNSError(.timeout, "\(name) \(type): no answer from \(servers.map(\.description).joined(separator: ", "))")))
        }
        let server = servers[tries % servers.count]
        tries += 1
        self.server = server
        isTCP = false
        id = UInt16.random(in: 0...UInt16.max)
        let query: [UInt8]
        do {
            query = try DNSMessage.query(id: id, name: name, type: type)
            fd = try SocketCalls.socket(domain: server.family, type: CInt(SOCK_DGRAM.rawValue))
            try loop.watch(fd, for: .readable) { [weak self] _ in self?.receiveDatagrams() }
            _ = try query.withUnsafeBytes { (bytes) throws(Errno) in try SocketCalls.sendTo(fd, bytes, server) }
        } catch let error as DNSError {
            return finish(.failure(error))
        } catch {
            lastError = DNSError(.unavailable, "\(name): cannot ask \(server): \(error)")
            return tryNext()
        }
        armTimer(server)
    }

    private func armTimer(_ server: SocketAddress) {
        timer = try? loop.addTimer(after: resolver.configuration.timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.lastError = DNSError(.timeout, "\(self.name) \(self.type): no answer from \(server) within \(self.resolver.configuration.timeout) s")
            self.tryNext()
        }
    }

    private func receiveDatagrams() {
        let capacity = 4096
        var buffer = [UInt8](repeating: 0, count: capacity)
        while fd >= 0, !isTCP {
            let result = try? buffer.withUnsafeMutableBytes { (raw) throws(Errno) in try SocketCalls.receive(fd, raw.baseAddress!, capacity) }
            guard case .processed(let (count, sender))? = result else { return }
            guard let server, let sender, sender == server else {
                resolver.ignoredResponses += 1  // another sender: spoofed or stray
                continue
            }
            // MSG_TRUNC reports the datagram's real size: one larger than our buffer is incomplete.
            let oversized = count > capacity
            accept(Array(buffer[..<min(count, capacity)]), oversized: oversized)
        }
    }

    /// Checks a candidate answer against the question; acts on it only if it is ours.
    private func accept(_ bytes: [UInt8], oversized: Bool = false) {
        guard bytes.count >= 12 else {
            resolver.ignoredResponses += 1
            return
        }
        let header = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard header == id else {
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
        guard message.isResponse, message.questionType == type, message.questionName == name.lowercased() else {
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

    // MARK: - TCP (after a truncated answer)

    private func askOverTCP() {
        guard let server else { return tryNext() }
        closeSocket()
        isTCP = true
        id = UInt16.random(in: 0...UInt16.max)
        do {
            let query = try DNSMessage.query(id: id, name: name, type: type)
            tcpOutput = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
            tcpInput = []
            fd = try SocketCalls.socket(domain: server.family, type: CInt(SOCK_STREAM.rawValue))
            _ = try SocketCalls.connect(fd, server)
            try loop.watch(fd, for: .writable) { [weak self] events in self?.tcpReady(events) }
        } catch let error as DNSError {
            return finish(.failure(error))
        } catch {
            lastError = DNSError(.unavailable, "\(name): TCP to \(server) failed: \(error)")
            return tryNext()
        }
        armTimer(server)
    }

    private func tcpReady(_ events: IOEvents) {
        if !tcpOutput.isEmpty {
            let result = try? tcpOutput.withUnsafeBytes { (bytes) throws(Errno) in try SocketCalls.send(fd, bytes) }
            switch result {
            case .processed(let written)?:
                tcpOutput.removeFirst(written)
                if tcpOutput.isEmpty { try? loop.setInterest(.readable, for: fd) }
            case .wouldBlock?: return
            case nil:
                lastError = DNSError(.serverFailure, "\(name): TCP to \(server?.description ?? "?") failed")
                return tryNext()
            }
            return
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let result = try? chunk.withUnsafeMutableBytes { (raw) throws(Errno) in try Syscalls.read(fd, raw.baseAddress!, raw.count) }
        switch result {
        case .processed(let count)? where count > 0:
            tcpInput += chunk[..<count]
            guard tcpInput.count >= 2 else { return }
            let length = Int(tcpInput[0]) << 8 | Int(tcpInput[1])
            guard tcpInput.count >= 2 + length else { return }
            accept(Array(tcpInput[2..<(2 + length)]))
            if fd >= 0, isTCP, completion != nil {
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

    private func closeSocket() {
        if let timer { loop.cancelTimer(timer) }
        timer = nil
        guard fd >= 0 else { return }
        loop.unwatch(fd)
        try? Syscalls.close(fd)  // a fresh socket we own: nothing to report if close fails
        fd = -1
    }

    private func finish(_ result: Result<DNSMessage, DNSError>) {
        closeSocket()
        guard let completion else { return }
        self.completion = nil
        resolver.transactionEnded(self)
        completion(result)
    }
}
