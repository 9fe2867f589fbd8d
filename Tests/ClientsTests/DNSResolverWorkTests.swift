import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// What a lookup costs the loop: no file read, no socket, no timer and no cache sweep of its own.
/// Counted, not timed (the machine's load would make a timing flaky): these are the calls that had
/// made a loop stall or cost per query.
@Suite("DNS resolver work per lookup: shared sockets, no file reads, bounded cache upkeep")
struct DNSResolverWorkTests {
    @Test("a thousand distinct names share a few sockets, read no file and keep the cache bounded",
          .enabled(if: DNSMasqProcess.binary != nil, "dnsmasq is not installed"))
    func manyLookups() throws {
        let dnsmasq = try DNSMasqProcess()
        defer { dnsmasq.stop() }
        let harness = try LoopHarness()
        var configuration = ResolverConfiguration()
        configuration.nameservers = [dnsmasq.address]
        configuration.timeout = 5
        let resolver = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile(), cacheCapacity: 100)
        let total = 1000
        var next = 0
        var answered = 0
        var wrong = 0
        var mostTimers = 0
        func issue() {
            guard next < total else { return }
            next += 1
            resolver.resolve("n\(next).bulk.test") { result in
                if (try? result.get()) != ["10.1.1.1", "fd00::2"] { wrong += 1 }
                answered += 1
                mostTimers = max(mostTimers, harness.loop.timerCount)
                issue()
            }
        }
        for _ in 0..<50 { issue() }
        #expect(try harness.run(until: { answered == total }, within: 60, interval: 0.001))
        #expect(wrong == 0)
        #expect(resolver.queriesSent == 2 * total)  // one A and one AAAA each, no retry
        let work = resolver.work
        // Four sockets at a time, each retired after 64 queries: about 2000/64 + 4, far below 2000.
        #expect(work.socketsOpened <= 2 * total / 64 + 4)
        #expect(work.fileReads == 0 && work.fileChecks == 0)
        // One deadline timer for all the questions in flight (plus the harness's own polling timer),
        // never one each (50 questions in flight would be 100 timers).
        #expect(mostTimers <= 2)
        #expect(resolver.cachedEntryCount <= 100)
        #expect(work.largestCacheSweep <= 16)
        #expect(resolver.pendingQueries == 0)
        harness.loop.close()
    }

    @Test("a cached answer comes back before resolve returns; the same question asked twice at once is sent once",
          .enabled(if: DNSMasqProcess.binary != nil, "dnsmasq is not installed"))
    func cacheHitsAndSharedQuestions() throws {
        let dnsmasq = try DNSMasqProcess()
        defer { dnsmasq.stop() }
        let harness = try LoopHarness()
        var configuration = ResolverConfiguration()
        configuration.nameservers = [dnsmasq.address]
        let resolver = DNSResolver(loop: harness.loop, configuration: configuration, hosts: HostsFile())
        var first: Result<[String], DNSError>?
        var second: Result<[String], DNSError>?
        resolver.resolve("web.test") { first = $0 }
        resolver.resolve("WEB.test") { second = $0 }
        #expect(try harness.run(until: { first != nil && second != nil }, within: 10, interval: 0.001))
        #expect(try first?.get() == ["10.0.0.1", "fd00::1"] && second?.get() == ["10.0.0.1", "fd00::1"])
        #expect(resolver.queriesSent == 2)
        var cached: Result<[String], DNSError>?
        resolver.resolve("web.test") { cached = $0 }
        #expect(try cached?.get() == ["10.0.0.1", "fd00::1"])  // already there: no loop turn needed
        #expect(resolver.knownAddresses(of: "web.test") == ["10.0.0.1", "fd00::1"])
        #expect(resolver.knownAddresses(of: "other.test") == nil)
        #expect(resolver.queriesSent == 2)
        harness.loop.close()
    }

    @Test("resolv.conf and hosts are read once, then again only when a stat shows a change")
    func systemFilesFollowedByStat() throws {
        let directory = try TestFiles.makeTemporaryDirectory("wm-dns-files")
        defer { TestFiles.removeTree(directory) }
        try TestFiles.write("nameserver 127.0.0.1\noptions ndots:2\n", to: "\(directory)/resolv.conf")
        try TestFiles.write("10.5.5.5 first.example\n", to: "\(directory)/hosts")
        let harness = try LoopHarness()
        let calm = DNSResolver(followingSystemFilesOn: harness.loop, resolvPath: "\(directory)/resolv.conf",
                               hostsPath: "\(directory)/hosts", refreshInterval: 3600)
        for _ in 0..<200 {
            var answer: [String]?
            calm.resolve("first.example") { answer = try? $0.get() }
            #expect(answer == ["10.5.5.5"])
        }
        #expect(calm.work.fileReads == 2 && calm.work.fileChecks == 1)  // the first read only
        #expect(calm.configuration.ndots == 2)

        let eager = DNSResolver(followingSystemFilesOn: harness.loop, resolvPath: "\(directory)/resolv.conf",
                                hostsPath: "\(directory)/hosts", refreshInterval: 0)
        for _ in 0..<10 { eager.resolve("first.example") { _ in } }
        #expect(eager.work.fileReads == 2)  // checked every time, unchanged: not read again
        try TestFiles.write("10.5.5.5 first.example\n10.6.6.6 second.example\n", to: "\(directory)/hosts")
        try TestFiles.write("nameserver 127.0.0.1\nsearch corp.example\noptions ndots:3 rotate\n", to: "\(directory)/resolv.conf")
        var second: [String]?
        eager.resolve("second.example") { second = try? $0.get() }
        #expect(second == ["10.6.6.6"])
        #expect(eager.work.fileReads == 4)
        #expect(eager.configuration.search == ["corp.example"] && eager.configuration.ndots == 3 && eager.configuration.rotate)
        harness.loop.close()
    }

    @Test("the cache drops the answers closest to expiry, a few at a time, never sweeping all of it")
    func cacheBound() {
        var cache = DNSCache(capacity: 100)
        for index in 0..<10_000 {
            // Expiries out of order: later names do not always live longer.
            let expiry = UInt64(1_000 + (index * 7919) % 10_000)
            cache.store(DNSCache.Key(name: "n\(index)", type: 1), DNSCache.Entry(addresses: ["192.0.2.1"], expiry: expiry, negative: nil), now: 0)
            #expect(cache.entries.count <= 100)
        }
        #expect(cache.largestSweep <= 16)
        // What stayed is what lives longest (but the last one stored, which always goes in).
        #expect(cache.entries.values.filter { $0.expiry >= 1_000 + 9_800 }.count >= 95)
        // Time passes: expired answers are not served, and leave as new ones come.
        #expect(cache.lookup(DNSCache.Key(name: "n0", type: 1), now: 20_000) == nil)
        for index in 0..<50 {
            cache.store(DNSCache.Key(name: "later\(index)", type: 28), DNSCache.Entry(addresses: [], expiry: 30_000, negative: nil), now: 20_000)
        }
        #expect(cache.entries.count <= 100 && cache.largestSweep <= 16)
        #expect(cache.lookup(DNSCache.Key(name: "later49", type: 28), now: 20_000) != nil)
    }
}

@Suite("DNS address text")
struct DNSAddressTextTests {
    @Test("IPv6 text is what inet_ntop writes, for zero runs of every place and length, mapped and compatible forms")
    func matchesInetNtop() {
        var generator = SystemRandomNumberGenerator()
        var samples: [[UInt8]] = [
            [UInt8](repeating: 0, count: 16),
            [UInt8](repeating: 0, count: 15) + [1],
            [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 1],
            [UInt8](repeating: 0, count: 12) + [192, 0, 2, 1],
            [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12),
        ]
        for _ in 0..<2000 {
            // Words that are often zero, so runs of every length and place occur.
            var bytes: [UInt8] = []
            for _ in 0..<8 {
                let word: UInt16 = generator.next() % 3 == 0 ? UInt16.random(in: 0...UInt16.max, using: &generator) : 0
                bytes += [UInt8(word >> 8), UInt8(word & 0xff)]
            }
            samples.append(bytes)
        }
        for bytes in samples {
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
            let expected = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(DNSAddressText.ipv6(bytes[...]) == expected)
        }
        #expect(DNSAddressText.ipv4(0, 10, 100, 255) == "0.10.100.255")
    }
}
