import WorkermanEventLoop

// What a connection does for a stream that is not a plain socket (TLS): the stream may change the
// readiness it needs after any read, it may fail with a reason of its own, and its handshake ends at a
// moment the owner wants to know (to bound handshakes in progress).
extension Connection {
    /// After a read of a non-plain stream: the owner hears when the handshake is done, and a read that
    /// would block may now wait for writability (a TLS handshake record still to send), so the
    /// descriptor's interest follows the stream.
    func streamProgressed(_ result: IOResult<Int>) {
        if awaitsHandshake && !stream.isHandshaking {
            awaitsHandshake = false
            owner?.connectionFinishedHandshake(self)
        }
        if case .wouldBlock = result { updateInterest() }
    }

    /// A non-plain stream failed while reading. A failed handshake counts as one (not as a client
    /// close); a client hears why in `onError` (a certificate that did not verify, with OpenSSL's
    /// reason), as it would for a refused connection.
    func streamFailed(_ error: Errno) {
        if stream.isHandshaking {
            context.statistics.handshakeFailures += 1
        } else {
            context.statistics.clientClose += 1
        }
        if owner === self, let reason = stream.failureReason {
            let peer = remoteAddress?.description ?? "peer"
            fireError(TransportError(.protocolError, "TLS with \(peer)", cause: error, detail: reason))
        }
        destroy()
    }

    /// What secures this connection (`TLSv1.3 TLS_AES_128_GCM_SHA256`), or nil for a plain socket.
    public var securityDescription: String? { isPlainSocket ? nil : stream.securityDescription }

    /// The stream this connection reads and writes through (a `TLSStream` for TLS connections).
    public var byteStream: any ByteStream { stream }
}
