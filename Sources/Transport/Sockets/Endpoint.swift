/// Which socket a scheme runs over.
public enum TransportKind: String, Hashable, Sendable {
    case tcp
    case udp
    case unix
}

/// A parsed `scheme://host:port/path?query` address, as Workerman takes them: `tcp://0.0.0.0:8080`,
/// `http://[::]:80`, `unix:///run/app.sock`, `ws://example.com:8080/chat?room=1`.
///
/// The scheme names the codec (`text`, `frame`, `http`, `websocket`, a user codec) or a bare transport
/// (`tcp`, `udp`, `unix`); the transport is TCP unless the scheme is `udp` or `unix`, or one is given.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int
    /// Path and query for client URLs (`/` when absent).
    public var target: String
    public var transport: TransportKind

    /// Parses `address`.
    ///
    /// - Throws: `TransportError` `.invalidAddress` naming the address and what is wrong.
    public init(_ address: String, transport: TransportKind? = nil) throws(TransportError) {
        let operation = "parse address \(address)"
        guard let colon = address.firstIndex(of: ":") else {
            throw TransportError(.invalidAddress, operation, detail: "expected scheme://host:port")
        }
        scheme = address[..<colon].lowercased()
        var rest = address[address.index(after: colon)...]
        guard rest.hasPrefix("//") else {
            throw TransportError(.invalidAddress, operation, detail: "expected // after the scheme")
        }
        rest = rest.dropFirst(2)
        guard !scheme.isEmpty else { throw TransportError(.invalidAddress, operation, detail: "empty scheme") }

        if scheme == "unix" || transport == .unix {
            self.transport = .unix
            host = String(rest)
            port = 0
            target = "/"
            guard !host.isEmpty else { throw TransportError(.invalidAddress, operation, detail: "empty unix path") }
            return
        }
        self.transport = transport ?? (scheme == "udp" ? .udp : .tcp)

        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let suffix = rest[authorityEnd...]
        target = suffix.isEmpty ? "/" : (suffix.hasPrefix("?") ? "/" + suffix : String(suffix))

        let hostPart: Substring
        let portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw TransportError(.invalidAddress, operation, detail: "unclosed [ in an IPv6 address")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let afterBracket = authority[authority.index(after: close)...]
            if afterBracket.isEmpty {
                portPart = nil
            } else if afterBracket.hasPrefix(":") {
                portPart = afterBracket.dropFirst()
            } else {
                throw TransportError(.invalidAddress, operation, detail: "unexpected text after ]")
            }
        } else if let lastColon = authority.lastIndex(of: ":") {
            hostPart = authority[..<lastColon]
            portPart = authority[authority.index(after: lastColon)...]
        } else {
            hostPart = authority
            portPart = nil
        }
        guard !hostPart.isEmpty else { throw TransportError(.invalidAddress, operation, detail: "empty host") }
        host = String(hostPart)
        if let portPart {
            guard let value = Int(portPart), (0...65535).contains(value) else {
                throw TransportError(.invalidAddress, operation, detail: "port must be a number from 0 to 65535")
            }
            port = value
        } else {
            port = Self.defaultPort(for: scheme)
        }
    }

    /// The port a client uses when the URL names none.
    static func defaultPort(for scheme: String) -> Int {
        switch scheme {
        case "ssl", "wss", "https": return 443
        default: return 80
        }
    }

    /// Host and port as a URL authority: `127.0.0.1:80`, `[::1]:80`.
    public var authority: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public var description: String {
        transport == .unix ? "\(scheme)://\(host)" : "\(scheme)://\(authority)"
    }

    /// The socket address when `host` is numeric (or `localhost`), else nil: names need resolving.
    public func numericAddress() throws(TransportError) -> SocketAddress? {
        if transport == .unix { return try SocketAddress(unixPath: host) }
        if host == "localhost" { return try SocketAddress(ip: "127.0.0.1", port: port) }
        do {
            return try SocketAddress(ip: host, port: port)
        } catch {
            return nil
        }
    }
}

extension Endpoint {
    /// The address of a connection's peer as an endpoint (`tcp://203.0.113.5:51234`, `unix://` with the
    /// peer's path), for a connection a server accepted, which has no endpoint of its own.
    init(peerOf connection: Connection) {
        scheme = connection.transport.rawValue
        transport = connection.transport
        target = "/"
        let address = connection.remoteAddress
        host = transport == .unix ? address?.description ?? "" : address?.ip ?? ""
        port = address?.port ?? 0
    }
}

