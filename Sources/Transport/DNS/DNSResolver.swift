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

    public typealias Completion = (Result<[String], DNSError>) -> Void

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
    /// Queries sent (each try of each question, UDP or TCP).
    public private(set) var queriesSent = 0
    var cache: DNSCache
    /// Created on the first query (a resolver that only reads its cache opens no socket).
    private(set) lazy var pool = DNSSocketPool(resolver: self)
    /// Set when the configuration and hosts come from the system files: they are followed by mtime.
    private(set) var systemFiles: DNSSystemFiles?
    private var nextServer = 0
    private var nextSerial = 0
    private var transactions: [Int: DNSTransaction] = [:]
    /// Lookups waiting on a question already asked: one query serves them all.
    private var waiting: [DNSCache.Key: [Completion]] = [:]
    private var deadlines = DNSDeadlines()
    private var deadlineTimer: TimerID?
    private var idleCheckQueued = false

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

    /// A resolver that follows `resolvPath` and `hostsPath`: read now, and read again when a `stat` (at
    /// most every `refreshInterval` seconds, on a lookup) shows one changed. A configuration set by hand
    /// is replaced at the file's next change.
    ///
    /// ```swift
    /// let resolver = DNSResolver(followingSystemFilesOn: loop, refreshInterval: 5)
    /// ```
    public convenience init(
        followingSystemFilesOn loop: EventLoop,
        resolvPath: String = "/etc/resolv.conf",
        hostsPath: String = "/etc/hosts",
        refreshInterval: Double = 5,
        cacheCapacity: Int = 10_000
    ) {
        var files = DNSSystemFiles(resolvPath: resolvPath, hostsPath: hostsPath, interval: refreshInterval)
        var configuration = ResolverConfiguration()
        var hosts = HostsFile()
        files.refresh(now: loop.clock.nanoseconds(), configuration: &configuration, hosts: &hosts)
        self.init(loop: loop, configuration: configuration, hosts: hosts, cacheCapacity: cacheCapacity)
        systemFiles = files
    }

    /// A dropped resolver closes the sockets of lookups still waiting (their callbacks are not called).
    deinit {
        for transaction in transactions.values { transaction.abandon() }
        if let deadlineTimer { loop.cancelTimer(deadlineTimer) }
    }

    /// The loop's resolver, made from the system files on first use (and following their changes).
    public static func of(_ loop: EventLoop) -> DNSResolver {
        let key = ObjectIdentifier(DNSResolver.self)
        if let resolver = loop.attachments[key] as? DNSResolver { return resolver }
        let resolver = DNSResolver(followingSystemFilesOn: loop)
        loop.attachments[key] = resolver
        return resolver
    }

    /// Makes `resolver` the one `TCPClient` and `of(loop)` use on `loop`.
    public static func install(_ resolver: DNSResolver, on loop: EventLoop) {
        loop.attachments[ObjectIdentifier(DNSResolver.self)] = resolver
    }

    package func loopDidClose() {
        let open = transactions.values
        transactions.removeAll()
        for transaction in open { transaction.cancel() }
        if let deadlineTimer { loop.cancelTimer(deadlineTimer) }
        deadlineTimer = nil
        deadlines.removeAll()
        pool.closeAll()
    }

    /// Lookups waiting for a server.
    public var pendingQueries: Int { transactions.count }

    /// What the resolver did on the loop beyond answering, for tests that check a lookup costs no
    /// file read, no socket and no cache sweep of its own.
    package struct Work: Equatable {
        package var socketsOpened: Int
        package var fileReads: Int
        package var fileChecks: Int
        package var largestCacheSweep: Int
    }

    package var work: Work {
        Work(socketsOpened: pool.socketsOpened, fileReads: systemFiles?.reads ?? 0, fileChecks: systemFiles?.checks ?? 0,
             largestCacheSweep: cache.largestSweep)
    }

    /// Answers held by the cache (at most its capacity).
    public var cachedEntryCount: Int { cache.entries.count }

    /// Forgets every cached answer.
    public func clearCache() { cache = DNSCache(capacity: cache.capacity) }

    /// The addresses of `host` known now without asking anyone (numeric, hosts file, cache), or nil.
    ///
    /// ```swift
    /// if let addresses = resolver.knownAddresses(of: "db.internal") { connect(to: addresses[0]) }
    /// ```
    public func knownAddresses(of host: String) -> [String]? {
        if let numeric = Self.numericAddress(host) { return [numeric] }
        let listed = hosts.addresses(for: host)
        if !listed.isEmpty { return Self.ordered(listed) }
        let now = loop.clock.nanoseconds()
        for name in configuration.candidates(for: host) {
            let lowered = Self.lowercased(name)
            let v4 = cache.lookup(DNSCache.Key(name: lowered, type: DNSRecordType.a.rawValue), now: now)
            let v6 = cache.lookup(DNSCache.Key(name: lowered, type: DNSRecordType.aaaa.rawValue), now: now)
            guard let v4, let v6 else { return nil }  // not asked yet: only a server can say
            let addresses = v4.addresses + v6.addresses
            if !addresses.isEmpty { return addresses }
        }
        return nil
    }

    // MARK: - Resolving

    /// The addresses of `host` (IPv4 first, then IPv6), as text; a numeric host is its own answer.
    /// `completion` runs once, on the loop. An answer already known (a numeric host, the hosts file, the
    /// cache) runs it before this call returns, without a loop hop; a query runs it from the loop later.
    public func resolve(_ host: String, _ completion: @escaping Completion) {
        if var files = systemFiles {
            files.refresh(now: loop.clock.nanoseconds(), configuration: &configuration, hosts: &hosts)
            self.systemFiles = files
        }
        if let numeric = Self.numericAddress(host) { return completion(.success([numeric])) }
        let listed = hosts.addresses(for: host)
        if !listed.isEmpty { return completion(.success(Self.ordered(listed))) }
        if host.utf8.count == 9, host.lowercased() == "localhost" { return completion(.success(["127.0.0.1", "::1"])) }
        resolve(candidates: configuration.candidates(for: host)[...], host: host, firstError: nil, completion)
    }

    /// The A and AAAA answers of one candidate name, as they arrive.
    private final class Pair {
        var v4: Result<[String], DNSError>?
        var v6: Result<[String], DNSError>?
    }

    private func resolve(candidates: ArraySlice<String>, host: String, firstError: DNSError?, _ completion: @escaping Completion) {
        guard let name = candidates.first else {
            return completion(.failure(firstError ?? DNSError(.nameError, "\(host): no such name")))
        }
        let pair = Pair()
        let collect = { [unowned self] in
            guard let v4 = pair.v4, let v6 = pair.v6 else { return }
            let addresses = ((try? v4.get()) ?? []) + ((try? v6.get()) ?? [])
            if !addresses.isEmpty { return completion(.success(addresses)) }
            let errors = [v4, v6].compactMap { result -> DNSError? in if case .failure(let error) = result { error } else { nil } }
            // A name that exists without addresses, or not at all, sends us to the next candidate; a
            // server that cannot answer ends the search (asking more names of it would not help).
            if let serious = errors.first(where: { $0.code != .nameError && $0.code != .noAddress }) {
                return completion(.failure(DNSError(serious.code, "\(host): \(serious.detail)")))
            }
            let error = errors.first { $0.code == .noAddress } ?? errors.first
            self.resolve(candidates: candidates.dropFirst(), host: host, firstError: firstError ?? error, completion)
        }
        let lowered = Self.lowercased(name)
        lookup(lowered, type: .a, depth: 0) { result in
            pair.v4 = result
            collect()
        }
        lookup(lowered, type: .aaaa, depth: 0) { result in
            pair.v6 = result
            collect()
        }
    }

    /// The addresses of exactly `name` for `type` (A or AAAA), CNAME chains followed, cached for the
    /// smallest TTL along the chain. No search list, no hosts file. A cached answer runs `completion`
    /// before this call returns.
    public func lookup(_ name: String, type: DNSRecordType, _ completion: @escaping Completion) {
        lookup(Self.lowercased(name), type: type, depth: 0, completion)
    }

    func lookup(_ name: String, type: DNSRecordType, depth: Int, _ completion: @escaping Completion) {
        let key = DNSCache.Key(name: name, type: type.rawValue)
        if let entry = cache.lookup(key, now: loop.clock.nanoseconds()) {
            cacheHits += 1
            return completion(entry.negative.map { .failure($0) } ?? .success(entry.addresses))
        }
        if waiting[key] != nil {
            waiting[key]!.append(completion)
            return
        }
        waiting[key] = [completion]
        var servers = configuration.nameservers
        if configuration.rotate, servers.count > 1 {
            let start = nextServer % servers.count
            nextServer += 1
            servers = Array(servers[start...] + servers[..<start])
        }
        nextSerial += 1
        let transaction = DNSTransaction(resolver: self, serial: nextSerial, name: name, type: type, servers: servers,
                                         attempts: configuration.attempts) { [unowned self] result in
            let deliver: Completion = { [unowned self] result in
                for waiter in self.waiting.removeValue(forKey: key) ?? [] { waiter(result) }
            }
            switch result {
            case .failure(let error): deliver(.failure(error))
            case .success(let message): self.answered(name, type, depth: depth, message, deliver)
            }
        }
        transactions[nextSerial] = transaction
        transaction.start()
    }

    func transactionEnded(_ transaction: DNSTransaction) {
        transactions[transaction.serial] = nil
        if transactions.isEmpty, !idleCheckQueued {
            idleCheckQueued = true
            // At the end of the tick, not here: the completion that follows may ask again at once.
            loop.nextTick { [weak self] in self?.closeIfIdle() }
        }
    }

    /// With nothing asked, the resolver holds nothing on the loop: no socket, no timer (a loop with
    /// only an idle resolver left has no work and `run()` returns). The next query opens a socket again.
    private func closeIfIdle() {
        idleCheckQueued = false
        guard transactions.isEmpty else { return }
        if let deadlineTimer { loop.cancelTimer(deadlineTimer) }
        deadlineTimer = nil
        deadlines.removeAll()
        pool.closeAll()
    }

    // MARK: - Deadlines

    /// Soonest a deadline check runs after the previous: timeouts are seconds, so a check per 10 ms
    /// at most keeps the timer from firing per query under load.
    private static let deadlineGranularity: UInt64 = 10_000_000

    /// A try of `transaction` went out: its deadline is now + timeout.
    func querySent(_ transaction: DNSTransaction, generation: Int) {
        queriesSent += 1
        let now = loop.clock.nanoseconds()
        deadlines.append(.init(deadline: now &+ UInt64(configuration.timeout * 1e9), serial: transaction.serial, attempt: generation))
        if deadlineTimer == nil { armDeadlineTimer(now: now) }
    }

    private func armDeadlineTimer(now: UInt64) {
        guard let earliest = deadlines.earliest else { return }
        let delay = max(earliest > now ? earliest - now : 0, Self.deadlineGranularity)
        deadlineTimer = try? loop.addTimer(after: Double(delay) / 1e9) { [unowned self] in
            self.deadlineTimer = nil
            let now = self.loop.clock.nanoseconds()
            while let due = self.deadlines.popDue(now: now) {
                self.transactions[due.serial]?.timedOut(generation: due.attempt)
            }
            self.armDeadlineTimer(now: now)
        }
    }
    /// `host` as a numeric address, if it is one: IPv6, dotted IPv4, or the shorthand forms `inet_aton`
    /// (and so `getaddrinfo`) accept, such as `127.1`.
    static func numericAddress(_ host: String) -> String? {
        // Only a name with a colon can be IPv6, and only digits, dots and hex can be IPv4: a host name
        // is turned down by a pass over its bytes, before any parse (this runs on every lookup).
        if host.utf8.contains(UInt8(ascii: ":")) { return (try? SocketAddress(ip: host, port: 0)) != nil ? host : nil }
        guard host.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "x") || ($0 >= 97 && $0 <= 102) })
        else { return nil }
        var legacy = in_addr()
        guard !host.isEmpty, inet_aton(host, &legacy) != 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &legacy, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `name` lower-cased; the string itself when it has no upper-case letter (the usual case: no copy).
    static func lowercased(_ name: String) -> String {
        name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name
    }

    /// IPv4 before IPv6 (a host without an IPv6 route still connects at the first try).
    static func ordered(_ addresses: [String]) -> [String] {
        addresses.filter { !$0.contains(":") } + addresses.filter { $0.contains(":") }
    }
}
