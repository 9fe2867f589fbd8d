// STARTTLS: a protocol that begins in clear and then secures the same connection (MySQL's SSLRequest,
// SMTP, PostgreSQL) swaps its stream for a secured one over the same socket, mid-connection.

extension TCPClient {
    /// Secures this established plain connection from now on with `security` (a `TLSClientConfiguration`):
    /// the TLS handshake starts at once over the same socket, and `onConnect` runs again when it is done
    /// (a failed handshake reaches `onError` with OpenSSL's reason, then `onClose`, as for `ssl://`).
    /// Everything sent before this call must have left already (the send queue must be empty), and
    /// nothing sent after it goes out before the handshake is done.
    ///
    /// ```swift
    /// client.send(sslRequest)                      // the protocol's "TLS from here on"
    /// try client.startTLS(try TLSClientConfiguration(caFile: "db-ca.pem"))
    /// client.onConnect = { client in client.send(login) }   // now over TLS
    /// ```
    ///
    /// - Parameter host: the name the certificate must carry (default: the URL's host).
    /// - Throws: `TransportError` `.protocolError` when the connection is not an established plain one
    ///   with nothing queued, or the secured stream cannot be made.
    public func startTLS(_ security: any StreamSecurity, host: String? = nil) throws(TransportError) {
        let operation = "start TLS with \(endpoint)"
        guard status == .established, let socket = byteStream as? SocketStream else {
            throw TransportError(.protocolError, operation, detail: "the connection is not an established plain one")
        }
        // Sent from a message callback, the clear bytes wait in the read's cork: they leave now, in clear.
        if isCorked { flushCork() }
        guard sendQueue.isEmpty else {
            throw TransportError(.protocolError, operation, detail: "bytes sent in clear are still queued")
        }
        use(try security.connectedStream(over: socket, host: host ?? endpoint.host))
        awaitsHandshake = true
        updateInterest()
    }
}
