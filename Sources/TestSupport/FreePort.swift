import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that was free a moment ago: bound on 127.0.0.1:0, read back, released. For programs a
/// test starts that must be told their port (a peer server, a demo's environment); a server of our own in
/// the test process binds port 0 instead.
public enum FreePort {
    /// A TCP port.
    public static func tcp() throws(Errno) -> Int { try pick(SOCK_STREAM) }

    /// A UDP port. Not `tcp()`'s number: UDP clients (a resolver's sockets, statistics reporters) take UDP
    /// ports that are free for TCP.
    public static func udp() throws(Errno) -> Int { try pick(SOCK_DGRAM) }

    private static func pick(_ type: __socket_type) throws(Errno) -> Int {
        let fd = socket(AF_INET, CInt(type.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Errno(rawValue: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
