import CWorkermanShims
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Whether a TLS server asks its clients for certificates.
public enum ClientCertificatePolicy: Sendable {
    /// Never asks (the default).
    case none
    /// Asks; a client without one is still served, one whose certificate does not verify is refused.
    case request
    /// Refuses a client without a certificate that verifies.
    case require
}

/// A TLS server's certificate and settings: give it to a worker (`Worker(http:tls:)`) or a server
/// (`server.security`). Files are read when it is made, so an error (a missing file, a wrong
/// passphrase, a key that does not belong to the certificate) shows before anything listens.
///
/// ```swift
/// let tls = try TLSServerConfiguration(certificateChain: "fullchain.pem", privateKey: "key.pem")
/// let web = try Worker(http: "0.0.0.0:443", tls: tls)
/// ```
public final class TLSServerConfiguration: StreamSecurity {
    public let certificateChain: String
    public let privateKey: String
    public var handshakeTimeout: Double
    public var maxConcurrentHandshakes: Int
    let context: TLSContext
    /// The configurations served by name (kept alive here: OpenSSL points at their contexts).
    private var serverNames: [TLSServerConfiguration] = []
    /// Ticket keys shared by every process of the worker (nil: OpenSSL's random per-process keys).
    private var ticketKeys: TLSTicketKeys?
    /// Seconds since the epoch, for the ticket key's period (tests turn it to cross a rotation).
    var ticketClock: () -> Int = { time(nil) }

    /// - Parameters:
    ///   - certificateChain: PEM file, the server's certificate first, then the intermediates.
    ///   - privateKey: PEM file with the certificate's key, encrypted with `passphrase` if given.
    ///   - minimumVersion: `.tls12` (default) or `.tls13`; nothing older is ever offered.
    ///   - ciphers: the TLS 1.2 cipher list (Mozilla "intermediate" by default).
    ///   - alpn: protocols offered by preference (`http/1.1`; `h2` once an HTTP/2 codec exists).
    ///   - clientCertificates: whether to ask clients for certificates, verified against `clientCAFile`.
    ///   - handshakeTimeout: a connection whose handshake is not done after this many seconds is closed.
    ///   - maxConcurrentHandshakes: at this many handshakes in progress in a process, accepting pauses
    ///     until one ends (new connections wait in the accept queue, or go to another child).
    ///   - sessionCache: resumption (session cache and tickets); tickets are encrypted with a key every
    ///     child of one master derives from the master's random secret, so a client resumes on any child,
    ///     renewed every `ticketKeyRotation` seconds (at least 60); a ticket from the period before still
    ///     resumes, and is replaced by one under the new key.
    /// - Throws: `TransportError` naming the file and OpenSSL's reason, or that OpenSSL 3 is missing.
    public init(
        certificateChain: String,
        privateKey: String,
        passphrase: String? = nil,
        minimumVersion: TLSVersion = .tls12,
        ciphers: String = TLSCiphers.intermediate,
        alpn: [String] = ["http/1.1"],
        clientCertificates: ClientCertificatePolicy = .none,
        clientCAFile: String? = nil,
        sessionCache: Bool = true,
        ticketKeyRotation: Int = 12 * 3600,
        handshakeTimeout: Double = 10,
        maxConcurrentHandshakes: Int = 1024
    ) throws(TransportError) {
        let operation = "load TLS certificate \(certificateChain)"
        let context = try TLSContext(server: true, operation: operation)
        try context.setVersions(minimumVersion, .tls13, operation)
        try context.setCiphers(ciphers, nil, operation)
        try context.useCertificate(chain: certificateChain, key: privateKey, passphrase: passphrase, operation)
        try context.setALPN(alpn, operation)
        switch clientCertificates {
        case .none: break
        case .request: try context.setVerification(mode: 1, caFile: clientCAFile, caDirectory: nil, systemStore: clientCAFile == nil, operation)
        case .require: try context.setVerification(mode: 3, caFile: clientCAFile, caDirectory: nil, systemStore: clientCAFile == nil, operation)
        }
        try context.apply("session cache", operation) { wm_tls_context_set_session_cache($0, sessionCache ? 1 : 0) }
        self.context = context
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.handshakeTimeout = handshakeTimeout
        self.maxConcurrentHandshakes = max(1, maxConcurrentHandshakes)
        if sessionCache {
            ticketKeys = TLSTicketKeys(rotation: ticketKeyRotation)
            ticketKeys?.refresh(context, now: ticketClock())
        }
    }

    /// Workerman's form: the `ssl` part of a stream context (`local_cert`, `local_pk`, `passphrase`,
    /// `verify_peer` for client certificates with `cafile`, `ciphers`).
    ///
    /// ```swift
    /// try TLSServerConfiguration(context: ["local_cert": "server.pem", "local_pk": "server.key"])
    /// ```
    public convenience init(context options: [String: Any]) throws(TransportError) {
        guard let chain = options["local_cert"] as? String, let key = options["local_pk"] as? String ?? options["local_cert"] as? String else {
            throw TransportError(.protocolError, "configure TLS", detail: "the ssl context needs local_cert (and local_pk unless the key is in the same file)")
        }
        let verify = options["verify_peer"] as? Bool ?? false
        try self.init(
            certificateChain: chain,
            privateKey: key,
            passphrase: options["passphrase"] as? String,
            ciphers: options["ciphers"] as? String ?? TLSCiphers.intermediate,
            clientCertificates: verify ? .require : .none,
            clientCAFile: options["cafile"] as? String
        )
    }

    /// Serves `other`'s certificate to clients that ask for `serverName` (SNI); any other name, or none,
    /// gets this configuration's certificate. `*.example.com` matches one label.
    ///
    /// ```swift
    /// let main = try TLSServerConfiguration(certificateChain: "example.com.pem", privateKey: "example.com.key")
    /// try main.add(TLSServerConfiguration(certificateChain: "api.pem", privateKey: "api.key"), forServerName: "api.example.com")
    /// ```
    public func add(_ other: TLSServerConfiguration, forServerName serverName: String) throws(TransportError) {
        try context.apply("server name \(serverName)", "add TLS certificate \(other.certificateChain)") {
            wm_tls_context_add_server_name($0, serverName.lowercased(), other.context.pointer)
        }
        serverNames.append(other)
    }

    public func acceptedStream(over socket: SocketStream) throws(TransportError) -> any ByteStream {
        ticketKeys?.refresh(context, now: ticketClock())
        return try TLSStream(over: socket, context: context, host: nil)
    }

    public func connectedStream(over socket: SocketStream, host: String) throws(TransportError) -> any ByteStream {
        throw TransportError(.connectFailed, "connect \(host)", detail: "a server's TLS configuration cannot secure a client; use TLSClientConfiguration")
    }
}

@available(*, unavailable, message: "a TLS configuration belongs to one process's loop")
extension TLSServerConfiguration: Sendable {}
