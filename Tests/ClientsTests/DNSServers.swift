import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// `dnsmasq` on a loopback port, answering only for `.test` from its command line (nothing forwarded):
/// web.test A+AAAA, www.test → web.test, deep.test → www.test, local.test → 127.0.0.1, big.test with 40
/// A records (truncated over UDP), short.test with a 1-second TTL, every *.bulk.test 10.1.1.1 and fd00::2;
/// any other `.test` name is NXDOMAIN.
final class DNSMasqProcess {
    let port: Int
    let pid: pid_t
    let directory: String

    static var binary: String? { findProgram("dnsmasq") }

    init() throws {
        guard let binary = Self.binary else { throw TestError("dnsmasq is not installed") }
        directory = try TestFiles.makeTemporaryDirectory("wm-dnsmasq")
        // A port picked free can be taken by another test before dnsmasq binds it: try a few.
        var started: (port: Int, pid: pid_t)?
        var failure = ""
        for _ in 0..<3 where started == nil {
            let port = try freeUDPPort()
            var arguments = [
                "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=\(port)", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--user=root", "--pid-file=", "--local=/test/", "--local-ttl=60", "--cache-size=0",
                "--host-record=web.test,10.0.0.1,fd00::1", "--cname=www.test,web.test", "--cname=deep.test,www.test",
                "--host-record=local.test,127.0.0.1", "--address=/bulk.test/10.1.1.1", "--address=/bulk.test/fd00::2",
                "--log-facility=\(directory)/dnsmasq.log",
            ]
            for index in 1...40 { arguments.append("--host-record=big.test,10.9.0.\(index)") }
            let pid = try ChildProcess.spawn(binary, arguments, output: .file("\(directory)/out.log", append: true))
            var exited = false
            if WaitUntil.holds(within: 20, { () -> Bool in
                exited = exited || ChildProcess.reap(pid) != .running
                return exited || answersQueries(port)
            }), !exited {
                started = (port, pid)
            } else {
                if !exited { ChildProcess.killAndReap(pid) }  // an exited one is reaped: its pid may be someone else's now
                failure = TestFiles.readText("\(directory)/out.log") ?? ""
            }
        }
        guard let started else {
            TestFiles.removeTree(directory)
            throw TestError("dnsmasq did not start: \(failure)")
        }
        port = started.port
        pid = started.pid
    }

    var address: SocketAddress { try! SocketAddress(ip: "127.0.0.1", port: port) }

    func stop() {
        ChildProcess.killAndReap(pid)
        TestFiles.removeTree(directory)
    }
}

/// A UDP port nobody uses now, whose TCP twin is also free (dnsmasq takes both).
func freeUDPPort() throws -> Int {
    for _ in 0..<20 {
        let port = try FreePort.udp()
        if !isListening(port) { return port }
    }
    throw TestError("no free port")
}

func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return address
}

/// Whether a DNS server answers a query on 127.0.0.1:`port` within 0.2 s (blocking; for start-up only).
private func answersQueries(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    guard let query = try? DNSMessage.query(id: 7, name: "web.test", type: .a) else { return false }
    var address = loopback(port: port)
    _ = query.withUnsafeBytes { bytes in
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
    var buffer = [UInt8](repeating: 0, count: 512)
    return recv(fd, &buffer, buffer.count, 0) > 0
}

/// A scripted DNS server on the test's loop: each query goes to `answer`, which returns datagrams to
/// send back, each from the server's own socket or from a second socket (a spoofer on another port).
final class FakeDNSServer {
    struct Reply {
        var bytes: [UInt8]
        var fromOtherSocket = false
    }

    let loop: EventLoop
    let fd: CInt
    let otherFD: CInt
    let port: Int
    private(set) var queries: [DNSMessage] = []
    var answer: (DNSMessage, [UInt8]) -> [Reply] = { _, _ in [] }

    init(loop: EventLoop) throws {
        self.loop = loop
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        self.fd = fd
        otherFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = loopback(port: 0)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        try loop.watch(fd, for: .readable) { [unowned self] _ in self.receive() }
    }

    var address: SocketAddress { try! SocketAddress(ip: "127.0.0.1", port: port) }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 1024)
        var sender = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &sender) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0, let query = try? DNSMessage.parse(Array(buffer[..<count])) else { return }
        queries.append(query)
        for reply in answer(query, Array(buffer[..<count])) {
            _ = reply.bytes.withUnsafeBytes { bytes in
                withUnsafePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(reply.fromOtherSocket ? otherFD : fd, bytes.baseAddress, bytes.count, 0, $0, length)
                    }
                }
            }
        }
    }

    func close() {
        loop.unwatch(fd)
        Glibc.close(fd)
        Glibc.close(otherFD)
    }

    /// An answer to `query` (its raw bytes) with `records` A addresses, or a bare response code.
    static func response(to raw: [UInt8], id: UInt16? = nil, rcode: UInt8 = 0, truncated: Bool = false, addresses: [[UInt8]] = [],
                         ttl: UInt32 = 60, questionOverride: [UInt8]? = nil) -> [UInt8] {
        let question = questionOverride ?? Array(raw[12...])
        let queryID = id ?? (UInt16(raw[0]) << 8 | UInt16(raw[1]))
        var flags: UInt16 = 0x8180 | UInt16(rcode)
        if truncated { flags |= 0x0200 }
        var bytes: [UInt8] = [UInt8(queryID >> 8), UInt8(queryID & 0xff), UInt8(flags >> 8), UInt8(flags & 0xff), 0, 1, 0, UInt8(addresses.count), 0, 0, 0, 0]
        bytes += question
        for address in addresses {
            bytes += [0xc0, 12, 0, 1, 0, 1]
            bytes += [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xff), UInt8((ttl >> 8) & 0xff), UInt8(ttl & 0xff)]
            bytes += [0, 4] + address
        }
        return bytes
    }
}
