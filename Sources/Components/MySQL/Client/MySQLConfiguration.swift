import WorkermanTLS
import WorkermanTransport

/// Where and how to log in.
///
/// ```swift
/// let configuration = try MySQLConfiguration(url: "mysql://app:secret@127.0.0.1:3306/shop")
/// var local = MySQLConfiguration(host: "127.0.0.1", user: "root", password: "", database: "test")
/// local.queryTimeout = 5
/// ```
public struct MySQLConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// A unix socket path; when set, `host` and `port` are not used.
    public var socketPath: String?
    public var user: String
    public var password: String
    public var database: String?
    /// Seconds to connect and log in.
    public var connectTimeout = 10.0
    /// Seconds a command may wait for its answer before the connection is given up (a stalled server);
    /// nil waits forever.
    public var queryTimeout: Double? = 30
    /// The largest packet accepted from the server (the server's `max_allowed_packet` bounds what it sends).
    public var maxPacketSize = 64 * 1024 * 1024
    /// Prepared statements kept per connection, by SQL text, so a repeated parameterised query is one
    /// round trip.
    public var statementCacheSize = 256
    /// The authentication method to answer the server's greeting with (nil: the one the greeting names).
    /// The server switches to the account's own method when they differ, as `--default-auth` does.
    public var defaultAuthPlugin: String?
    /// TLS to the server (after the SSLRequest packet, on the same connection): `.disabled` (the
    /// default), `.prefer` (when the server offers it) or `.require`. The certificate is verified unless
    /// `tlsVerifyPeer` is false: against the system's CAs and `tlsCAFile`, for the host connected to
    /// (or `tlsServerName`). A certificate that does not verify fails the login, whatever the mode.
    public var tls = MySQLTLSMode.disabled
    /// Trusted CA certificates (PEM) besides the system's, for a database with a CA of its own.
    public var tlsCAFile: String?
    /// false accepts any certificate (a self-signed test server only: anyone on the path can then read the traffic).
    public var tlsVerifyPeer = true
    /// The name the server's certificate must carry, when it is not `host`.
    public var tlsServerName: String?
    /// The server's RSA public key (PEM file), for `caching_sha2_password`'s full authentication without
    /// TLS: the password goes encrypted to it (MySQL's `--server-public-key-path`).
    public var serverPublicKeyFile: String?
    /// Without TLS and without `serverPublicKeyFile`, ask the server for its RSA key when full
    /// authentication needs it (MySQL's `--get-server-public-key`). Off by default: whoever sits on the
    /// path could hand over a key of their own and read the password.
    public var allowPublicKeyRetrieval = false

    public init(host: String = "127.0.0.1", port: Int = 3306, user: String, password: String = "", database: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `mysql://user:password@host:port/database` (also `mariadb://`; user and password
    /// percent-encoded; `?socket=/path` for a unix socket, `?tls=require&ca=/path/ca.pem` for TLS).
    ///
    /// - Throws: `MySQLError` `.invalidArgument`.
    public init(url: String) throws(MySQLError) {
        let invalid = MySQLError(.invalidArgument, "not a mysql://user:password@host:port/database URL: \(url)")
        let scheme = ["mysql://", "mariadb://"].first { url.hasPrefix($0) }
        guard let scheme else { throw invalid }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            database = name.isEmpty ? nil : Self.percentDecoded(name)
            rest = rest[..<slash]
        }
        var user = "root"
        var password = ""
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = Self.percentDecoded(credentials[..<colon])
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                user = Self.percentDecoded(credentials)
            }
        }
        var host = String(rest)
        var port = 3306
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else { throw invalid }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host.isEmpty ? "127.0.0.1" : host, port: port, user: user, password: password, database: database)
        for pair in query.split(separator: "&") {
            let (name, value) = pair.firstIndex(of: "=").map { (pair[..<$0], Self.percentDecoded(pair[pair.index(after: $0)...])) } ?? (pair, "")
            switch name {
            case "socket": socketPath = value
            case "tls", "ssl-mode", "sslmode":
                guard let mode = MySQLTLSMode(rawValue: value.lowercased()) else { throw invalid }
                tls = mode
            case "ca", "ssl-ca": tlsCAFile = value
            default: break
            }
        }
    }

    /// `host:port` or the socket path, for messages.
    public var serverName: String { socketPath ?? (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") }

    /// The transport URL for `TCPClient`.
    var transportURL: String { socketPath.map { "unix://\($0)" } ?? "tcp://\(serverName)" }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), utf8.distance(from: index, to: utf8.endIndex) >= 3,
                let value = UInt8(String(decoding: utf8[utf8.index(after: index)..<utf8.index(index, offsetBy: 3)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = utf8.index(index, offsetBy: 3)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Whether a connection speaks TLS to the server.
public enum MySQLTLSMode: String, Sendable, Equatable {
    /// Plain text (a unix socket or loopback needs no more).
    case disabled
    /// TLS when the server offers it, plain text when it does not (a certificate that fails to verify
    /// still fails the login: no silent downgrade).
    case prefer
    /// TLS or no connection.
    case require
}

extension MySQLConfiguration {
    /// The TLS client settings `tls`, `tlsCAFile`, `tlsVerifyPeer` and `tlsServerName` describe.
    func makeTLSConfiguration() throws(TransportError) -> TLSClientConfiguration {
        try TLSClientConfiguration(verifyPeer: tlsVerifyPeer, caFile: tlsCAFile, serverName: tlsServerName)
    }
}
