import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4, IPv6 or unix-domain socket address.
///
/// ```swift
/// let address = try SocketAddress(ip: "::1", port: 8080)   // [::1]:8080
/// ```
public enum SocketAddress: Hashable, Sendable, CustomStringConvertible {
    case ipv4(sockaddr_in)
    case ipv6(sockaddr_in6)
    case unix(path: String)

    /// A numeric IPv4 or IPv6 address (no name resolution).
    ///
    /// - Throws: `TransportError` `.invalidAddress` when `ip` is not a numeric address.
    public init(ip: String, port: Int) throws(TransportError) {
        guard (0...65535).contains(port) else {
            throw TransportError(.invalidAddress, "parse address \(ip):\(port)", detail: "port out of range 0–65535")
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            self = .ipv4(address)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ip, &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = v6
            self = .ipv6(address)
            return
        }
        throw TransportError(.invalidAddress, "parse address \(ip):\(port)", detail: "not a numeric IPv4 or IPv6 address")
    }

    /// A unix-domain stream or datagram socket path.
    ///
    /// - Throws: `TransportError` `.invalidAddress` when the path does not fit `sun_path` (107 bytes).
    public init(unixPath path: String) throws(TransportError) {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path), !path.isEmpty else {
            throw TransportError(
                .invalidAddress,
                "parse unix address \(path)",
                cause: .nameTooLong,
                detail: "a unix socket path must be 1 to 107 bytes"
            )
        }
        self = .unix(path: path)
    }

    init?(storage: sockaddr_storage, length: socklen_t) {
        var storage = storage
        switch CInt(storage.ss_family) {
        case AF_INET:
            self = withUnsafeBytes(of: &storage) { .ipv4($0.load(as: sockaddr_in.self)) }
        case AF_INET6:
            self = withUnsafeBytes(of: &storage) { .ipv6($0.load(as: sockaddr_in6.self)) }
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw -> String in
                let address = raw.load(as: sockaddr_un.self)
                return withUnsafeBytes(of: address.sun_path) { pathBytes in
                    let used = max(0, min(Int(length) - 2, pathBytes.count))
                    let bytes = pathBytes.prefix(used).prefix { $0 != 0 }
                    return String(decoding: bytes, as: UTF8.self)
                }
            }
            self = .unix(path: path)
        default:
            return nil
        }
    }

    /// The address family: `AF_INET`, `AF_INET6` or `AF_UNIX`.
    public var family: CInt {
        switch self {
        case .ipv4: return AF_INET
        case .ipv6: return AF_INET6
        case .unix: return AF_UNIX
        }
    }

    /// The numeric IP (without brackets), or the unix path.
    public var ip: String {
        switch self {
        case .ipv4(var address):
            return Self.presentation(AF_INET, &address.sin_addr, INET_ADDRSTRLEN)
        case .ipv6(var address):
            return Self.presentation(AF_INET6, &address.sin6_addr, INET6_ADDRSTRLEN)
        case .unix(let path):
            return path
        }
    }

    /// The port, or 0 for a unix socket.
    public var port: Int {
        switch self {
        case .ipv4(let address): return Int(UInt16(bigEndian: address.sin_port))
        case .ipv6(let address): return Int(UInt16(bigEndian: address.sin6_port))
        case .unix: return 0
        }
    }

    public var isIPv4: Bool { if case .ipv4 = self { true } else { false } }
    public var isIPv6: Bool { if case .ipv6 = self { true } else { false } }

    /// `1.2.3.4:80`, `[::1]:80` (brackets as Workerman shows IPv6), or the unix path.
    public var description: String {
        switch self {
        case .ipv4: return "\(ip):\(port)"
        case .ipv6: return "[\(ip)]:\(port)"
        case .unix(let path): return path
        }
    }

    /// Calls `body` with this address as a `sockaddr` pointer and its length.
    func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        switch self {
        case .ipv4(var address):
            return try withUnsafeBytes(of: &address) { (raw) throws(E) in
                try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        case .ipv6(var address):
            return try withUnsafeBytes(of: &address) { (raw) throws(E) in
                try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
            }
            let length = socklen_t(MemoryLayout<sa_family_t>.size + path.utf8.count + 1)
            return try withUnsafeBytes(of: &address) { (raw) throws(E) in
                try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
            }
        }
    }

    private static func presentation<T>(_ family: CInt, _ address: inout T, _ size: CInt) -> String {
        var buffer = [CChar](repeating: 0, count: Int(size))
        _ = withUnsafeBytes(of: &address) { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(size)) }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.description == rhs.description
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}
