import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// The UDP sockets a resolver's queries leave from: a few per address family, shared by every lookup,
/// instead of a socket (and its epoll registration and close) per query. Each socket's source port is
/// the kernel's random ephemeral pick, and a socket is retired after `usesPerSocket` queries, so the
/// port keeps changing; each query also carries a random id, unique among that socket's pending ones.
/// A datagram is handed to the question with its socket and id, which then checks the sender, name
/// and type: an off-path spoofer must guess port, id and the question at once.
final class DNSSocketPool {
    final class Socket {
        let fd: CInt
        let family: CInt
        /// The questions waiting on this socket, by query id.
        var pending: [UInt16: DNSTransaction] = [:]
        /// Queries sent from it; at `usesPerSocket` it takes no more and closes once nothing is pending.
        var sent = 0
        /// False once closed: a read loop stops even if the descriptor number is reused meanwhile.
        var isOpen = true

        init(fd: CInt, family: CInt) {
            self.fd = fd
            self.family = family
        }
    }

    /// Only read while a datagram is handled (to count ignored ones): never during the resolver's deinit.
    private unowned let resolver: DNSResolver
    /// The loop, held directly: the pool is closed from the resolver's deinit, when `resolver` is gone.
    private let loop: EventLoop
    /// Sockets taking new queries: IPv4 ones at index 0, IPv6 at 1, at most `size` of each.
    private var active: [[Socket]] = [[], []]
    /// Sockets past their uses that still wait for answers.
    private var retiring: [Socket] = []
    private var nextSocket = 0
    let size: Int
    let usesPerSocket: Int
    /// One receive buffer for every socket (the loop reads one datagram at a time).
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: DNSSocketPool.bufferSize, alignment: 8)
    /// Random bits for query ids, refilled 64 at a time (each refill is a `getrandom` call).
    private var randomBits: UInt64 = 0
    private var randomLeft = 0
    /// Sockets opened over the pool's life (a test bound: far fewer than queries).
    private(set) var socketsOpened = 0

    static let bufferSize = 4096
    static let readsPerWake = 32

    /// 64 uses: a new socket costs about five calls (socket, epoll add, the first send's port pick,
    /// epoll delete, close), under 0.1 per query spread over 64, while a port that leaks is good for at
    /// most 64 queries.
    init(resolver: DNSResolver, size: Int = 4, usesPerSocket: Int = 64) {
        self.resolver = resolver
        loop = resolver.loop
        self.size = max(1, size)
        self.usesPerSocket = max(1, usesPerSocket)
    }

    deinit {
        closeAll()
        buffer.deallocate()
    }

    /// Sends `query` (its id bytes overwritten) to `server` from a pooled socket; returns the socket and
    /// the id the answer must carry.
    func send(_ query: inout [UInt8], to server: SocketAddress, for transaction: DNSTransaction) throws(DNSError) -> (Socket, UInt16) {
        let socket = try socket(for: server.family)
        var id = randomID()
        while socket.pending[id] != nil { id = randomID() }
        query[0] = UInt8(id >> 8)
        query[1] = UInt8(id & 0xff)
        do {
            // A full send buffer (`.wouldBlock`) is a lost datagram: the timeout moves on, as after a drop.
            _ = try query.withUnsafeBytes { (bytes) throws(Errno) in try SocketCalls.sendTo(socket.fd, bytes, server) }
        } catch {
            throw DNSError(.unavailable, "cannot send to \(server): \(error)")
        }
        socket.pending[id] = transaction
        socket.sent += 1
        if socket.sent >= usesPerSocket { retire(socket) }
        return (socket, id)
    }

    /// Forgets a question's pending id (answered, timed out or abandoned).
    func release(_ socket: Socket, _ id: UInt16) {
        socket.pending[id] = nil
        if socket.pending.isEmpty, socket.sent >= usesPerSocket, let index = retiring.firstIndex(where: { $0 === socket }) {
            retiring.remove(at: index)
            close(socket)
        }
    }

    /// Closes every socket (the resolver is idle or closing; its questions are cancelled separately).
    func closeAll() {
        for socket in active[0] + active[1] + retiring { close(socket) }
        active = [[], []]
        retiring.removeAll()
    }

    // MARK: - Sockets

    private func socket(for family: CInt) throws(DNSError) -> Socket {
        let slot = family == AF_INET6 ? 1 : 0
        // A new socket (a new random port) when there is none, or when every one is busy: a lookup at a
        // time uses one socket, a burst spreads over up to `size`.
        if active[slot].isEmpty || (active[slot].count < size && active[slot].allSatisfy({ $0.pending.count >= 8 })) {
            let fd: CInt
            do {
                fd = try SocketCalls.socket(domain: family, type: CInt(SOCK_DGRAM.rawValue))
            } catch {
                throw DNSError(.unavailable, "cannot make a UDP socket: \(error)")
            }
            let socket = Socket(fd: fd, family: family)
            do {
                try loop.watch(fd, for: .readable) { [unowned self, unowned socket] _ in self.receive(on: socket) }
            } catch {
                try? Syscalls.close(fd)  // never registered: ours to close, nothing to report
                throw DNSError(.unavailable, "cannot watch a UDP socket: \(error)")
            }
            socketsOpened += 1
            active[slot].append(socket)
            return socket
        }
        nextSocket &+= 1
        return active[slot][nextSocket % active[slot].count]
    }

    private func retire(_ socket: Socket) {
        let slot = socket.family == AF_INET6 ? 1 : 0
        guard let index = active[slot].firstIndex(where: { $0 === socket }) else { return }
        active[slot].remove(at: index)
        if socket.pending.isEmpty { close(socket) } else { retiring.append(socket) }
    }

    private func close(_ socket: Socket) {
        guard socket.isOpen else { return }
        socket.isOpen = false
        loop.unwatch(socket.fd)
        try? Syscalls.close(socket.fd)  // our own datagram socket: nothing to report if close fails
    }

    func randomID() -> UInt16 {
        if randomLeft == 0 {
            var generator = SystemRandomNumberGenerator()
            randomBits = generator.next()
            randomLeft = 4
        }
        randomLeft -= 1
        defer { randomBits >>= 16 }
        return UInt16(truncatingIfNeeded: randomBits)
    }

    // MARK: - Receiving

    private func receive(on socket: Socket) {
        // An answer's completion may close this socket (retired, or the resolver went idle). At most
        // `readsPerWake` datagrams per wake-up: the poll is level-triggered, so what is left is read
        // after the other descriptors' turn, and a flood of answers cannot make one long tick.
        var budget = Self.readsPerWake
        while socket.isOpen, budget > 0 {
            budget -= 1
            let result = try? SocketCalls.receive(socket.fd, buffer.baseAddress!, Self.bufferSize)
            guard case .processed(let (count, sender))? = result else { return }
            guard count >= 12 else {
                resolver.ignoredResponses += 1
                continue
            }
            let id = UInt16(buffer[0]) << 8 | UInt16(buffer[1])
            guard let transaction = socket.pending[id], let sender else {
                resolver.ignoredResponses += 1  // an id nobody asked with here: stray, late or spoofed
                continue
            }
            // MSG_TRUNC reports the datagram's real size: one larger than the buffer is incomplete.
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[..<min(count, Self.bufferSize)]))
            transaction.received(bytes, from: sender, oversized: count > Self.bufferSize)
        }
    }
}
