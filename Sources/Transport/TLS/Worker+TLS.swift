import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

extension Worker {
    /// Workerman's `$worker->transport`: `"ssl"` serves TLS with the certificate named in
    /// `context["ssl"]` (`local_cert`, `local_pk`, `passphrase`), read again by each process as it starts;
    /// `"tcp"` serves plain sockets.
    ///
    /// ```swift
    /// let web = try Worker(http: "0.0.0.0:443")
    /// web.context = ["ssl": ["local_cert": "/etc/ssl/site.pem", "local_pk": "/etc/ssl/site.key"]]
    /// web.transport = "ssl"
    /// ```
    public var transport: String {
        get { security != nil || makeSecurity != nil ? "ssl" : "tcp" }
        set {
            if newValue == "ssl" {
                makeSecurity = { [unowned self] () throws -> any StreamSecurity in
                    try TLSServerConfiguration(context: self.context["ssl"] ?? [:])
                }
            } else {
                makeSecurity = nil
                security = nil
            }
        }
    }
}

extension Worker where C == HTTPServerCodec {
    /// An HTTPS worker: HTTP/1.1 over TLS (and `wss://` for routes upgraded to WebSocket).
    ///
    /// ```swift
    /// let tls = try TLSServerConfiguration(certificateChain: "fullchain.pem", privateKey: "key.pem")
    /// let web = try Worker(http: "0.0.0.0:443", tls: tls)
    /// ```
    public convenience init(http address: String, tls: TLSServerConfiguration) throws(TransportError) {
        try self.init(http: address)
        security = tls
    }
}

extension Worker where C == WebSocketServerCodec {
    /// A WebSocket worker over TLS (`wss://`).
    public convenience init(websocket address: String, tls: TLSServerConfiguration) throws(TransportError) {
        try self.init(websocket: address)
        security = tls
    }
}

extension Worker {
    /// Any stream worker over TLS, e.g. `Worker<TextCodec>("text://0.0.0.0:5678", tls: tls)`.
    public convenience init(_ address: String, tls: TLSServerConfiguration) throws(TransportError) {
        try self.init(address)
        security = tls
    }
}

extension TCPClient {
    /// A client secured with `tls` (`ssl://`, `wss://`, `https://`); verifying the server by default.
    ///
    /// ```swift
    /// let client = try TCPClient<WebSocketClientCodec>(loop: loop, url: "wss://example.com/chat", tls: TLSClientConfiguration())
    /// ```
    public convenience init(loop: EventLoop, url: String, codec: C = C(), tls: TLSClientConfiguration) throws(TransportError) {
        try self.init(loop: loop, url: url, codec: codec)
        security = tls
    }
}

extension Connection {
    /// The connection's TLS stream (version, cipher, ALPN protocol, the client certificate's subject), or
    /// nil for a plain connection.
    ///
    /// ```swift
    /// web.onMessage = { connection, request in
    ///     let who = connection.tls?.peerSubject ?? "anonymous"   // with clientCertificates: .require
    /// }
    /// ```
    public var tls: TLSStream? { byteStream as? TLSStream }
}
