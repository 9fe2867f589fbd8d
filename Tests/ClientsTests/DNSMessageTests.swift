import Testing
import WorkermanTransport

@Suite("DNS messages, resolv.conf, hosts and the cache (no sockets)")
struct DNSMessageTests {
    /// A response to `web.test A` with one CNAME and one A record, compressed as servers do.
    static let answer: [UInt8] = {
        var bytes = try! DNSMessage.query(id: 0xbeef, name: "WWW.Test", type: .a)
        bytes[2] = 0x81; bytes[3] = 0x80; bytes[7] = 2
        // www.test CNAME web.test (the target: "web" + pointer to "test" at offset 16).
        bytes += [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 6, 3] + Array("web".utf8) + [0xc0, 16]
        let webOffset = bytes.count - 6
        bytes += [0xc0, UInt8(webOffset), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]
        return bytes
    }()

    @Test("a query encodes the name as labels with RD set; a response parses with its chain")
    func roundTrip() throws {
        let query = try DNSMessage.query(id: 0x1234, name: "example.com.", type: .aaaa)
        #expect(query == [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 28, 0, 1])
        let message = try DNSMessage.parse(Self.answer)
        #expect(message.id == 0xbeef && message.isResponse && !message.isTruncated && message.responseCode == 0)
        #expect(message.questionName == "www.test" && message.questionType == .a)
        #expect(message.answers.count == 2)
        #expect(message.answers[0].payload == .canonicalName("web.test") && message.answers[0].ttl == 30)
        #expect(message.answers[1].name == "web.test" && message.answers[1].payload == .address("10.0.0.1"))
    }

    @Test("bad names are refused when encoding")
    func badNames() {
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: "", type: .a) }
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: "a..b", type: .a) }
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: String(repeating: "x", count: 64) + ".com", type: .a) }
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: Array(repeating: "abcdefgh", count: 40).joined(separator: "."), type: .a) }
    }

    @Test("compression loops, forward and out-of-bounds pointers, overlong names and short records are malformed")
    func malformed() throws {
        let header: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
        let cases: [(String, [UInt8])] = [
            ("a pointer to itself", header + [0xc0, 12, 0, 1, 0, 1]),
            ("a forward pointer", header + [0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1]),
            ("a pointer past the end", header + [0xc0, 0xff]),
            ("a two-step loop", header + [1, 0x61, 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]),
            ("a label past the end", header + [9, 0x61]),
            ("a reserved label type", header + [0x40, 0]),
            ("a truncated header", [0, 1, 0x81]),
            ("an A record of 3 bytes", Array(Self.answer.prefix(29)) + [0, 1, 0, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]),
            ("a record past the end", Array(Self.answer.dropLast(3))),
        ]
        for (what, bytes) in cases {
            #expect(throws: DNSError.self, "\(what)") { try DNSMessage.parse(bytes) }
        }
        // Overlong: 130 one-byte labels (260 bytes on the wire).
        var long = header
        for _ in 0..<130 { long += [1, 0x61] }
        long += [0, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage.parse(long) }
    }

    @Test("resolv.conf: nameservers, search, domain, ndots, timeout, attempts, rotate; candidates follow ndots")
    func resolvConf() throws {
        let text = """
            # comment
            nameserver 10.0.0.2
            nameserver ::1
            nameserver not-an-ip
            search corp.example lab.example.
            options ndots:2 timeout:3 attempts:4 rotate edns0
            """
        let configuration = ResolverConfiguration.parse(text)
        #expect(configuration.nameservers == [try SocketAddress(ip: "10.0.0.2", port: 53), try SocketAddress(ip: "::1", port: 53)])
        #expect(configuration.search == ["corp.example", "lab.example"])
        #expect(configuration.ndots == 2 && configuration.timeout == 3 && configuration.attempts == 4 && configuration.rotate)
        let empty = ResolverConfiguration.parse("domain home.arpa\n")
        #expect(empty.nameservers == [try SocketAddress(ip: "127.0.0.1", port: 53)] && empty.search == ["home.arpa"])
        let resolver = configuration
        // Fewer dots than ndots: the search list first; enough dots: the name first; a trailing dot: only it.
        #expect(resolver.candidates(for: "db") == ["db.corp.example", "db.lab.example", "db"])
        #expect(resolver.candidates(for: "a.b.c") == ["a.b.c", "a.b.c.corp.example", "a.b.c.lab.example"])
        #expect(resolver.candidates(for: "db.") == ["db"])
    }

    @Test("the hosts file: comments, aliases, any case, first address first")
    func hosts() {
        let hosts = HostsFile.parse("127.0.0.1 localhost\n# 10.0.0.9 hidden\n10.0.0.7 DB db.internal # the database\n::1 db\nbogus line\n")
        #expect(hosts.addresses(for: "db") == ["10.0.0.7", "::1"])
        #expect(hosts.addresses(for: "DB.internal.") == ["10.0.0.7"])
        #expect(hosts.addresses(for: "hidden").isEmpty)
    }
}

