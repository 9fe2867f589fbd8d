import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Resolves host names on the loop, without a thread: `/etc/hosts` first, then A and AAAA queries (in
/// parallel) over UDP to the servers of `/etc/resolv.conf`, through its search list, following CNAME
/// chains, with answers cached for their TTL. `TCPClient` uses the loop's resolver (`DNSResolver.of`)
/// for every name; `mode = .system` sends names to `getaddrinfo` on a helper thread instead (for
/// nsswitch setups such as mDNS or LDAP).
///
/// ```swift
/// let resolver = DNSResolver.of(loop)
/// resolver.resolve("example.com") { result in print(result) }   // .success(["93.184.215.14", …])
///
/// var configuration = ResolverConfiguration.system()
/// configuration.nameservers = [try SocketAddress(ip: "10.0.0.2", port: 53)]
/// DNSResolver.install(DNSResolver(loop: loop, configuration: configuration), on: loop)
/// ```
public final class DNSResolver: LoopAttachment {
    /// How `TCPClient` resolves names on this loop.
    public enum Mode: Sendable {
        /// This resolver (the default).
        case builtIn
        /// `getaddrinfo` on a short-lived helper thread (honours nsswitch.conf).
        case system
    }

    public let loop: EventLoop
    public var configuration: ResolverConfiguration
    public var hosts: HostsFile
    public var mode = Mode.builtIn
    /// Seconds a name that does not exist (or has no address) is remembered when the server says
    /// nothing (no SOA).
    public var negativeTTL = 5.0
    /// Datagrams dropped because they were not the answer asked for (wrong id, question or sender).
    public internal(set) var ignoredResponses = 0
    /// Lookups answered from the cache.
    public private(set) var cacheHits = 0
    private var cache: DNSCache
    private var nextServer = 0
    private var transactions: [ObjectIdentifier: DNSTransaction] = [:]

    /// A resolver with `configuration` (default: `/etc/resolv.conf`) and `hosts` (default: `/etc/hosts`),
    /// caching up to `cacheCapacity` answers.
    public init(
        loop: EventLoop,
        configuration: ResolverConfiguration = .system(),
        hosts: HostsFile = .system(),
        cacheCapacity: Int = 10_000
    ) {
        self.loop = loop
        self.configuration = configuration
        self.hosts = hosts
        cache = DNSCache(capacity: cacheCapacity)
    }

    /// A dropped resolver closes the sockets of lookups still waiting (their callbacks are not called).
    deinit {
        for transaction in transactions.values { transaction.cancel() }
    }

    /// The loop's resolver, made from the system files on first use.
    public static func of(_ loop: EventLoop) -> DNSResolver {
        let key = ObjectIdentifier(DNSResolver.self)
        if let resolver = loop.attachments[key] as? DNSResolver { return resolver }
        let resolver = DNSResolver(loop: loop)
        loop.attachments[key] = resolver
        return resolver
    }

    /// Makes `resolver` the one `TCPClient` and `of(loop)` use on `loop`.
    public static func install(_ resolver: DNSResolver, on loop: EventLoop) {
        loop.attachments[ObjectIdentifier(DNSResolver.self)] = resolver
    }

    package func loopDidClose() {
        for transaction in transactions.values { transaction.cancel() }
        transactions.removeAll()
    }

    /// Lookups waiting for a server.
    public var pendingQueries: Int { transactions.count }

    /// Answers held by the cache (at most its capacity).
    public var cachedEntryCount: Int { cache.entries.count }

    /// Forgets every cached answer.
    public func clearCache() { cache = DNSCache(capacity: cache.capacity) }

    // MARK: - Resolving

    /// The addresses of `host` (IPv4 first, then IPv6), as text; a numeric host is its own answer.
    /// `completion` runs once, on the loop, never before this call returns.
    public func resolve(_ host: String, _ completion: @escaping (Result<[String], DNSError>) -> Void) {
        if let numeric = Self.numericAddress(host) { return loop.nextTick { completion(.success([numeric])) } }
        let listed = hosts.addresses(for: host)
        if !listed.isEmpty { return loop.nextTick { completion(.success(Self.ordered(listed))) } }
        if host.lowercased() == "localhost" { return loop.nextTick { completion(.success(["127.0.0.1", "::1"])) } }
        resolve(candidates: configuration.candidates(for: host), host: host, firstError: nil, completion)
    }

    private func resolve(
        candidates: [String],
        host: String,
        firstError: DNSError?,
        _ completion: @escaping (Result<[String], DNSError>) -> Void
    ) {
        guard let name = candidates.first else {
            return completion(.failure(firstError ?? DNSError(.nameError, "\(host): no such name")))
        }
        var results: [DNSRecordType: Result<[String], DNSError>] = [:]
        let collect: (DNSRecordType, Result<[String], DNSError>) -> Void = { [weak self] type, result in
            results[type] = result
            guard let self, results.count == 2 else { return }
            let addresses = ((try? results[.a]?.get()) ?? []) + ((try? results[.aaaa]?.get()) ?? [])
            if !addresses.isEmpty { return completion(.success(addresses)) }
            let errors = results.values.compactMap { result -> DNSError? in if case .failure(let error) = result { error } else { nil } }
            // A name that exists without addresses, or not at all, sends us to the next candidate; a
            // server that cannot answer ends the search (asking more names of it would not help).
            if let serious = errors.first(where: { $0.code != .nameError && $0.code != .noAddress }) {
                return completion(.failure(DNSError(serious.code, "\(host): \(serious.detail)")))
            }
            let error = errors.first { $0.code == .noAddress } ?? errors.first
            self.resolve(candidates: Array(candidates.dropFirst()), host: host, firstError: firstError ?? error, completion)
        }
        lookup(name, type: .a) { collect(.a, $0) }
        lookup(name, type: .aaaa) { collect(.aaaa, $0) }
    }

    /// The addresses of exactly `name` for `type` (A or AAAA), CNAME chains followed, cached for the
    /// smallest TTL along the chain. No search list, no hosts file.
    public func lookup(_ name: String, type: DNSRecordType, _ completion: @escaping (Result<[String], DNSError>) -> Void) {
        lookup(name.lowercased(), type: type, depth: 0, completion)
    }

    private func lookup(_ name: String, type: DNSRecordType, depth: Int, _ completion: @escaping (Result<[String], DNSError>) -> Void) {
        let now = Double(loop.clock.nanoseconds()) / 1e9
        if let entry = cache.lookup(name, type, now: now) {
            cacheHits += 1
            let result: Result<[String], DNSError> = entry.negative.map { .failure($0) } ?? .success(entry.addresses)
            return loop.nextTick { completion(result) }
        }
        var servers = configuration.nameservers
        if configuration.rotate, servers.count > 1 {
            let start = nextServer % servers.count
            nextServer += 1
            servers = Array(servers[start...] + servers[..<start])
        }
        let transaction = DNSTransaction(resolver: self, name: name, type: type, servers: servers, attempts: configuration.attempts) {
            [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error): completion(.failure(error))
            case .success(let message): self.answered(name, type, depth: depth, message, completion)
            }
        }
        transactions[ObjectIdentifier(transaction)] = transaction
        transaction.start()
    }

    func transactionEnded(_ transaction: DNSTransaction) {
        transactions[ObjectIdentifier(transaction)] = nil
    }

    private func answered(
        _ name: String,
        _ type: DNSRecordType,
        depth: Int,
        _ message: DNSMessage,
        _ completion: @escaping (Result<[String], DNSError>) -> Void
    ) {
        let now = Double(loop.clock.nanoseconds()) / 1e9
        let negativeSeconds = message.negativeTTL.map(Double.init) ?? negativeTTL
        if message.responseCode == 3 {
            let error = DNSError(.nameError, "\(name): no such name")
            cache.store(name, type, DNSCache.Entry(addresses: [], expiry: now + negativeSeconds, negative: error), now: now)
            return completion(.failure(error))
        }
        // Walk the chain inside the answer: name → CNAME → … → records of the asked type.
        var current = name
        var ttl = UInt32.max
        for _ in 0..<16 {
            let matches = message.answers.filter { $0.name == current && $0.type == type }
            if !matches.isEmpty {
                let addresses = matches.compactMap { record -> String? in if case .address(let text) = record.payload { text } else { nil } }
                ttl = min(ttl, matches.map(\.ttl).min() ?? 0)
                cache.store(name, type, DNSCache.Entry(addresses: addresses, expiry: now + Double(ttl), negative: nil), now: now)
                return completion(.success(addresses))
            }
            guard let alias = message.answers.first(where: { $0.name == current && $0.type == .cname }),
                case .canonicalName(let target) = alias.payload
            else { break }
            ttl = min(ttl, alias.ttl)
            current = target
        }
        if current != name, depth < 8 {
            // The chain leaves the answer (the server did not follow it): ask for its end.
            return lookup(current, type: type, depth: depth + 1, completion)
        }
        let error = DNSError(.noAddress, "\(name): no \(type) record")
        cache.store(name, type, DNSCache.Entry(addresses: [], expiry: now + negativeSeconds, negative: error), now: now)
        completion(.failure(error))
    }

    /// `host` as a numeric address, if it is one: IPv6, dotted IPv4, or the shorthand forms `inet_aton`
    /// (and so `getaddrinfo`) accept, such as `127.1`.
    static func numericAddress(_ host: String) -> String? {
        if (try? SocketAddress(ip: host, port: 0)) != nil { return host }
        var legacy = in_addr()
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "x") || ($0 >= 97 && $0 <= 102) }),
            inet_aton(host, &legacy) != 0
        else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &legacy, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// IPv4 before IPv6 (a host without an IPv6 route still connects at the first try).
    static func ordered(_ addresses: [String]) -> [String] {
        addresses.filter { !$0.contains(":") } + addresses.filter { $0.contains(":") }
    }
}
