/// What secures a server's or a client's sockets: TLS from the `WorkermanTLS` module
/// (`TLSServerConfiguration`, `TLSClientConfiguration`). Transport knows only this protocol, so nobody
/// who does not use TLS links it.
///
/// ```swift
/// import WorkermanTLS
/// server.security = try TLSServerConfiguration(certificateChain: "cert.pem", privateKey: "key.pem")
/// client.security = try TLSClientConfiguration()   // verifies against the system's trust store
/// ```
public protocol StreamSecurity: AnyObject {
    /// The stream for a socket a server accepted.
    func acceptedStream(over socket: SocketStream) throws(TransportError) -> any ByteStream
    /// The stream for a client socket connected to `host` (the name checked against the certificate).
    func connectedStream(over socket: SocketStream, host: String) throws(TransportError) -> any ByteStream
    /// A server closes a connection whose handshake is not done after this many seconds.
    var handshakeTimeout: Double { get }
    /// A server stops accepting while this many handshakes are in progress in the process (the
    /// connections behind wait in the accept queue until one ends).
    var maxConcurrentHandshakes: Int { get }
}

/// Schemes that mean a secured stream: a client or server with one of them and no `security` refuses
/// to start, rather than speak plain text where the peer expects TLS.
public enum SecureSchemes {
    public static let all: Set<String> = ["ssl", "tls", "https", "wss"]

    /// Whether `scheme` asks for TLS.
    public static func contains(_ scheme: String) -> Bool { all.contains(scheme) }
}
