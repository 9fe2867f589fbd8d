import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTLS
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// How `https://` servers are checked. Verification is on by default: the certificate must chain to the
/// system's trust store (or `caFile`) and name the host of the URL (sent as SNI too).
///
/// ```swift
/// var configuration = HTTPClientConfiguration()
/// configuration.tls.caFile = "internal-ca.pem"             // a server of your own CA
/// configuration.tls.certificateChain = "client.pem"        // for servers that ask for a client certificate
/// configuration.tls.privateKey = "client.key"
/// configuration.tls = .insecure                            // self-signed test peers only: NO protection
/// ```
public struct HTTPClientTLSOptions: Sendable {
    /// False turns off every check of the server's certificate: anyone on the path can read and change
    /// the traffic. Use `.insecure` to say so in one word.
    public var verifyPeer = true
    /// Trusted CAs (PEM) besides the system's store.
    public var caFile: String?
    /// Trust the system's CAs too.
    public var useSystemTrustStore = true
    /// A client certificate (PEM chain) and its key, for servers that ask for one.
    public var certificateChain: String?
    public var privateKey: String?
    public var passphrase: String?

    public init() {}

    /// No verification at all (self-signed test peers only).
    public static var insecure: HTTPClientTLSOptions {
        var options = HTTPClientTLSOptions()
        options.verifyPeer = false
        return options
    }

    /// The TLS client context these options describe, offering ALPN `http/1.1` (this client speaks
    /// nothing else, so a server that would pick h2 must not). `tlsAvailable` lets a test play a
    /// machine without OpenSSL.
    func makeConfiguration(tlsAvailable: Bool = TLSLibrary.isAvailable) throws(HTTPClientError) -> TLSClientConfiguration {
        guard tlsAvailable else {
            throw HTTPClientError(.tlsUnavailable, "TLS not available: \(TLSLibrary.unavailableReason ?? "OpenSSL 3 (libssl.so.3) could not be loaded")")
        }
        do {
            return try TLSClientConfiguration(
                verifyPeer: verifyPeer, caFile: caFile, useSystemTrustStore: useSystemTrustStore, certificateChain: certificateChain,
                privateKey: privateKey, passphrase: passphrase, alpn: ["http/1.1"])
        } catch {
            throw HTTPClientError(.tlsFailed, "TLS configuration: \(error)")
        }
    }
}

/// An HTTP proxy, from `http://[user:password@]host:port`: plain `http://` requests go to it in absolute
/// form, `https://` ones through a `CONNECT` tunnel (TLS end to end with the origin, so the proxy sees
/// only the host name). With a user, every request or tunnel carries `Proxy-Authorization: Basic`.
struct HTTPProxy {
    let host: String
    let port: Int
    let authorization: String?

    init(_ text: String) throws(HTTPClientError) {
        let url = try HTTPURL(text)
        guard url.scheme == "http" else { throw HTTPClientError(.invalidURL, "proxy \(text): only http:// proxies are supported") }
        host = url.host
        port = url.port
        let afterScheme = text[text.index(text.firstIndex(of: ":")!, offsetBy: 3)...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
        if let at = authority.lastIndex(of: "@") {
            let credentials = String(authority[..<at]).percentDecoded
            authorization = "Basic " + Base64.encode(Array(credentials.utf8))
        } else {
            authorization = nil
        }
    }

    /// `host:port` for `tcp://` (brackets around an IPv6 address).
    var address: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
}

/// How one origin is reached: the address connected to, and what the stream needs (TLS, or a CONNECT
/// tunnel that becomes TLS).
struct HTTPRoute {
    /// `tcp://…` of the origin, or of the proxy.
    let address: String
    /// TLS straight to the origin.
    let security: TLSClientConfiguration?
    /// Through a proxy: the tunnel to open before TLS (https), or nil (http, absolute-form requests).
    let tunnel: Tunnel?
    /// Requests are written in absolute form (`GET http://host/path`), for a proxy.
    let absoluteForm: Bool
    let proxyAuthorization: String?

    struct Tunnel {
        let tls: TLSClientConfiguration
        /// `host:port` for the CONNECT line and the `Host` header.
        let authority: String
        /// The name TLS checks and sends as SNI.
        let serverName: String
    }
}

/// A socket that starts plain (the CONNECT exchange with a proxy) and turns into TLS with the origin once
/// the proxy answered 2xx. A class so the client can make the switch while the connection holds it.
final class TunnelStream: ByteStream {
    let descriptor: CInt
    private var socket: SocketStream
    private(set) var tls: TLSStream?

    init(over socket: SocketStream) {
        self.socket = socket
        descriptor = socket.descriptor
    }

    /// From now on bytes are TLS records for `serverName` (the handshake starts with the next write).
    func startTLS(_ configuration: TLSClientConfiguration, serverName: String) throws(TransportError) {
        tls = try configuration.stream(over: SocketStream(descriptor: descriptor), host: serverName)
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(Errno) -> IOResult<Int> {
        if let tls { return try tls.read(into: buffer, count: count) }
        return try socket.read(into: buffer, count: count)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        if let tls { return try tls.write(bytes) }
        return try socket.write(bytes)
    }

    func writev(_ vectors: UnsafePointer<iovec>, count: Int) throws(Errno) -> IOResult<Int> {
        if let tls { return try tls.writev(vectors, count: count) }
        return try socket.writev(vectors, count: count)
    }

    func shutdownOutput() {
        if let tls { tls.shutdownOutput() } else { socket.shutdownOutput() }
    }

    /// The TLS stream owns the descriptor once made: exactly one of them closes it.
    func close() {
        if let tls { tls.close() } else { socket.close() }
    }

    func interest(forWanted wanted: IOEvents) -> IOEvents { tls?.interest(forWanted: wanted) ?? wanted }
    func attempts(forReady events: IOEvents) -> IOEvents { tls?.attempts(forReady: events) ?? events }
    var isHandshaking: Bool { tls?.isHandshaking ?? false }
    var securityDescription: String? { tls?.securityDescription }
    var failureReason: String? { tls?.failureReason }
}

/// Hands a client a `TunnelStream` for its socket (and keeps it, for the switch to TLS).
final class TunnelSecurity: StreamSecurity {
    var handshakeTimeout: Double { 10 }
    var maxConcurrentHandshakes: Int { .max }
    private(set) var stream: TunnelStream?

    func acceptedStream(over socket: SocketStream) throws(TransportError) -> any ByteStream {
        throw TransportError(.listenFailed, "accept", detail: "a proxy tunnel is for clients only")
    }

    func connectedStream(over socket: SocketStream, host: String) throws(TransportError) -> any ByteStream {
        let stream = TunnelStream(over: socket)
        self.stream = stream
        return stream
    }
}

extension String {
    /// `%XX` sequences decoded (proxy credentials in a URL); anything malformed is kept as it is.
    fileprivate var percentDecoded: String {
        var bytes: [UInt8] = []
        var input = Array(utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2, let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
