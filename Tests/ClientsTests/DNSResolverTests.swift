import Testing
import WorkermanEventLoop
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

/// Runs `body`'s lookup on `harness`'s loop and returns its one result.
func resolved(_ harness: LoopHarness, _ body: (@escaping (Result<[String], DNSError>) -> Void) -> Void) throws -> Result<[String], DNSError> {
    var result: Result<[String], DNSError>?
    body { result = $0 }
    guard try harness.run(until: { result != nil }, within: 15, interval: 0.001) else { throw TestError("no answer") }
    return result!
}

@Suite("DNS resolver against dnsmasq (A/AAAA/CNAME, NXDOMAIN, truncation → TCP, cache)",
       .enabled(if: DNSMasqProcess.binary != nil, "dnsmasq is not installed"))
struct DNSResolverDNSMasqTests {
    func resolver(_ harness: LoopHarness, _ dnsmasq: DNSMasqProcess, search: [String] = []) -> DNSResolver {
        var configuration = ResolverConfiguration()
        configuration.nameservers = [dnsmasq.address]
        configuration.search = search
        configuration.timeout = 2
        return DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile.parse("10.7.7.7 pinned.test\n"))
    }

    @Test("A and AAAA, CNAME chains, NXDOMAIN, hosts, search list, truncation over TCP, cache hits")
    func lookups() throws {
        let dnsmasq = try DNSMasqProcess()
        defer { dnsmasq.stop() }
        let harness = try LoopHarness()
        let resolver = resolver(harness, dnsmasq, search: ["test"])
        #expect(try resolved(harness) { resolver.resolve("web.test", $0) }.get() == ["10.0.0.1", "fd00::1"])
        #expect(try resolved(harness) { resolver.resolve("deep.test", $0) }.get() == ["10.0.0.1", "fd00::1"])
        #expect(try resolved(harness) { resolver.lookup("WWW.test", type: .aaaa, $0) }.get() == ["fd00::1"])
        #expect(try resolved(harness) { resolver.resolve("web", $0) }.get() == ["10.0.0.1", "fd00::1"])  // via search
        #expect(try resolved(harness) { resolver.resolve("pinned.test", $0) }.get() == ["10.7.7.7"])  // hosts
        #expect(try resolved(harness) { resolver.resolve("192.0.2.5", $0) }.get() == ["192.0.2.5"])
        let missing = try resolved(harness) { resolver.resolve("nothing.test", $0) }
        if case .failure(let error) = missing { #expect(error.code == .nameError && error.detail.contains("nothing.test")) } else { Issue.record("found nothing.test") }
        let big = try resolved(harness) { resolver.lookup("big.test", type: .a, $0) }.get()
        #expect(big.count == 40 && big.contains("10.9.0.40"))
        let hits = resolver.cacheHits
        #expect(try resolved(harness) { resolver.resolve("web.test", $0) }.get() == ["10.0.0.1", "fd00::1"])
        #expect(resolver.cacheHits == hits + 2)
        #expect(resolver.pendingQueries == 0)
        harness.loop.close()
    }

    @Test("TCPClient resolves through the loop's resolver (a Redis client to local.test)",
          .enabled(if: RedisServerProcess.binary != nil, "redis-server is not installed"))
    func clientsUseIt() throws {
        let dnsmasq = try DNSMasqProcess()
        defer { dnsmasq.stop() }
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let harness = try LoopHarness()
        let resolver = resolver(harness, dnsmasq)
        DNSResolver.install(resolver, on: harness.loop)
        let client = try RedisClient(loop: harness.loop, address: "local.test:\(redis.port)")
        client.connect()
        var pong: Result<String, RedisError>?
        client.ping { pong = $0 }
        #expect(try harness.run(until: { pong != nil }, within: 10))
        #expect(try pong?.get() == "PONG")
        #expect(resolver.cacheHits == 0 && resolver.pendingQueries == 0)
        client.close()
        _ = try harness.run(until: { TransportContext.of(harness.loop).liveConnections.isEmpty }, within: 3)
        harness.loop.close()
    }
}

@Suite("DNS resolver against a scripted server: spoofing, SERVFAIL, timeouts")
struct DNSResolverScriptedTests {
    @Test("answers with a wrong id, a wrong name or from another port are ignored; the real one is taken")
    func spoofedAnswersIgnored() throws {
        let harness = try LoopHarness()
        let server = try FakeDNSServer(loop: harness.loop)
        defer { server.close() }
        let evilQuestion = Array(try DNSMessage.query(id: 0, name: "evil.test", type: .a)[12...])
        server.answer = { query, raw in
            let id = query.id
            return [
                .init(bytes: FakeDNSServer.response(to: raw, id: id &+ 1, addresses: [[6, 6, 6, 1]])),
                .init(bytes: FakeDNSServer.response(to: raw, addresses: [[6, 6, 6, 2]], questionOverride: evilQuestion)),
                .init(bytes: FakeDNSServer.response(to: raw, addresses: [[6, 6, 6, 3]]), fromOtherSocket: true),
                .init(bytes: [0xde, 0xad]),
                .init(bytes: FakeDNSServer.response(to: raw, addresses: query.questionType == .a ? [[192, 0, 2, 1]] : [])),
            ]
        }
        var configuration = ResolverConfiguration()
        configuration.nameservers = [server.address]
        let resolver = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile())
        #expect(try resolved(harness) { resolver.resolve("good.example", $0) }.get() == ["192.0.2.1"])
        #expect(resolver.ignoredResponses >= 8)  // four per question (A and AAAA)
        // Two queries, distinct random ids.
        #expect(server.queries.count == 2)
        harness.loop.close()
    }

    @Test("SERVFAIL from the first server moves to the next; a silent server times out to the next")
    func failover() throws {
        let harness = try LoopHarness()
        let failing = try FakeDNSServer(loop: harness.loop)
        let silent = try FakeDNSServer(loop: harness.loop)
        let good = try FakeDNSServer(loop: harness.loop)
        defer { [failing, silent, good].forEach { $0.close() } }
        failing.answer = { _, raw in [.init(bytes: FakeDNSServer.response(to: raw, rcode: 2))] }
        good.answer = { query, raw in [.init(bytes: FakeDNSServer.response(to: raw, addresses: query.questionType == .a ? [[192, 0, 2, 9]] : []))] }
        var configuration = ResolverConfiguration()
        configuration.nameservers = [failing.address, silent.address, good.address]
        configuration.timeout = 0.2
        configuration.attempts = 1
        let resolver = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile())
        #expect(try resolved(harness) { resolver.resolve("svc.example", $0) }.get() == ["192.0.2.9"])
        #expect(failing.queries.count == 2 && silent.queries.count == 2 && good.queries.count == 2)

        // Only failing servers: a clear server failure naming the code.
        configuration.nameservers = [failing.address]
        let hopeless = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile())
        let result = try resolved(harness) { hopeless.resolve("svc.example", $0) }
        if case .failure(let error) = result { #expect(error.code == .serverFailure && error.detail.contains("SERVFAIL")) } else { Issue.record("resolved") }
        // Only silence: a timeout.
        configuration.nameservers = [silent.address]
        let mute = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile())
        let timedOut = try resolved(harness) { mute.resolve("svc.example", $0) }
        if case .failure(let error) = timedOut { #expect(error.code == .timeout) } else { Issue.record("resolved") }
        harness.loop.close()
    }

    @Test("answers are cached for their TTL and no longer; the cache keeps its bound")
    func cacheTTL() throws {
        let harness = try LoopHarness()
        let server = try FakeDNSServer(loop: harness.loop)
        defer { server.close() }
        server.answer = { query, raw in
            [.init(bytes: FakeDNSServer.response(to: raw, addresses: query.questionType == .a ? [[192, 0, 2, 4]] : [], ttl: 1))]
        }
        var configuration = ResolverConfiguration()
        configuration.nameservers = [server.address]
        let resolver = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile(), cacheCapacity: 4)
        resolver.negativeTTL = 1
        _ = try resolved(harness) { resolver.resolve("ttl.example", $0) }
        _ = try resolved(harness) { resolver.resolve("ttl.example", $0) }
        #expect(server.queries.count == 2)  // the second came from the cache
        let start = MonotonicClock.now()
        #expect(try harness.run(until: { MonotonicClock.now() - start > 1_100_000_000 }, within: 3))
        _ = try resolved(harness) { resolver.resolve("ttl.example", $0) }
        #expect(server.queries.count == 4)  // expired: asked again
        for index in 0..<10 { _ = try resolved(harness) { resolver.lookup("n\(index).example", type: .a, $0) } }
        #expect(resolver.cachedEntryCount <= 4)
        harness.loop.close()
    }
}
