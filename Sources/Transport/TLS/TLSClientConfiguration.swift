import CWorkermanShims
import WorkermanTransport

/// A TLS client's trust and identity: set it on a client (`client.security`, or `TCPClient(loop:url:tls:)`)
/// for `ssl://`, `wss://` and `https://`. Peers are verified by default: the server's certificate must
/// chain to the system's trust store (or `caFile`), and carry the host name connected to.
///
/// ```swift
/// let tls = try TLSClientConfiguration()                               // a public server
/// let test = try TLSClientConfiguration(caFile: "test-ca.pem")         // a server of your own CA
/// let anyone = try TLSClientConfiguration(verifyPeer: false)           // self-signed: NO protection
/// ```
public final class TLSClientConfiguration: StreamSecurity {
    public let verifiesPeer: Bool
    /// Unused by clients (servers bound their handshakes); a client's `connectTimeout` bounds its own.
    public var handshakeTimeout: Double = 10
    public var maxConcurrentHandshakes: Int = .max
    /// The name sent as SNI and checked against the certificate, when it is not the URL's host.
    public var serverName: String?
    let context: TLSContext

    /// - Parameters:
    ///   - verifyPeer: false turns off every check of the server's certificate (self-signed test peers
    ///     only: anyone on the path can then read and change the traffic).
    ///   - caFile / caDirectory: trusted CAs (PEM) besides or instead of the system's store.
    ///   - useSystemTrustStore: trust the system's CAs too (default true).
    ///   - certificateChain / privateKey / passphrase: a client certificate, for servers that ask.
    ///   - alpn: protocols to offer (none by default).
    public init(
        verifyPeer: Bool = true,
        caFile: String? = nil,
        caDirectory: String? = nil,
        useSystemTrustStore: Bool = true,
        certificateChain: String? = nil,
        privateKey: String? = nil,
        passphrase: String? = nil,
        serverName: String? = nil,
        minimumVersion: TLSVersion = .tls12,
        alpn: [String] = []
    ) throws(TransportError) {
        let operation = "configure TLS client"
        let context = try TLSContext(server: false, operation: operation)
        try context.setVersions(minimumVersion, .tls13, operation)
        try context.setCiphers(TLSCiphers.intermediate, nil, operation)
        if verifyPeer {
            try context.setVerification(mode: 1, caFile: caFile, caDirectory: caDirectory, systemStore: useSystemTrustStore, operation)
        }
        if let certificateChain {
            try context.useCertificate(chain: certificateChain, key: privateKey ?? certificateChain, passphrase: passphrase, operation)
        }
        try context.setALPN(alpn, operation)
        self.context = context
        self.verifiesPeer = verifyPeer
        self.serverName = serverName
    }

    /// Workerman's form: the `ssl` part of a client's stream context (`verify_peer`, `allow_self_signed`,
    /// `cafile`, `capath`, `local_cert`, `local_pk`, `passphrase`, `peer_name`).
    public convenience init(context options: [String: Any]) throws(TransportError) {
        let verify = (options["verify_peer"] as? Bool ?? true) && !(options["allow_self_signed"] as? Bool ?? false)
        try self.init(
            verifyPeer: verify,
            caFile: options["cafile"] as? String,
            caDirectory: options["capath"] as? String,
            certificateChain: options["local_cert"] as? String,
            privateKey: options["local_pk"] as? String,
            passphrase: options["passphrase"] as? String,
            serverName: options["peer_name"] as? String
        )
    }

    public func acceptedStream(over socket: SocketStream) throws(TransportError) -> any ByteStream {
        throw TransportError(.listenFailed, "accept", detail: "a client's TLS configuration cannot secure a server; use TLSServerConfiguration")
    }

    public func connectedStream(over socket: SocketStream, host: String) throws(TransportError) -> any ByteStream {
        try TLSStream(over: socket, context: context, host: serverName ?? host)
    }

    /// A TLS client stream over any byte stream (tests drive one over a scripted stream).
    public func stream(over inner: any ByteStream, host: String) throws(TransportError) -> TLSStream {
        try TLSStream(over: inner, context: context, host: serverName ?? host)
    }
}

extension TLSServerConfiguration {
    /// A TLS server stream over any byte stream (tests drive one over a scripted stream).
    public func stream(over inner: any ByteStream) throws(TransportError) -> TLSStream {
        try TLSStream(over: inner, context: context, host: nil)
    }
}

@available(*, unavailable, message: "a TLS configuration belongs to one process's loop")
extension TLSClientConfiguration: Sendable {}
