import CWorkermanShims
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A TLS connection over another byte stream (a socket, or a `ScriptedStream` in tests): plain bytes in
/// and out, records on the stream underneath. Loop-bound, like the connection that owns it.
///
/// OpenSSL reads and writes the stream underneath through a BIO of our own that calls back into this
/// object, rather than through a socket BIO or a pair of memory BIOs: a socket BIO would need a real
/// descriptor (no scripted tests), and memory BIOs copy every record once more and accept output the
/// socket has no room for, which would hide back-pressure from the connection. With the callback, a
/// full socket is OpenSSL's "want write", which is this stream's `.wouldBlock`, as for a plain socket.
///
/// ```swift
/// let stream = try TLSStream(over: SocketStream(descriptor: fd), configuration: server)
/// ```
public final class TLSStream: ByteStream {
    public let descriptor: CInt
    private var inner: any ByteStream
    /// OpenSSL's side of the connection; nil once released.
    private var tls: OpaquePointer?
    /// Keeps the SSL_CTX alive as long as the connection uses it.
    private let context: TLSContext
    private let isServer: Bool
    /// The peer as errors name it (the server's host name for a client).
    private let peerName: String
    /// The readiness a blocked read waits for: `.writable` while a handshake record waits for room.
    private var readWaitsFor: IOEvents
    /// The readiness a blocked write waits for: `.readable` while the handshake waits for the peer.
    private var writeWaitsFor: IOEvents = .writable
    /// Set once the handshake finished (it never goes back).
    private var handshakeDone = false
    /// The stream underneath failed (a reset): rethrown after OpenSSL gives up.
    private var innerError: Errno?
    /// The stream underneath ended (a read of 0).
    private var innerEnded = false
    /// OpenSSL failed fatally: no close_notify may follow.
    private var failed = false
    private var outputShut = false
    /// A server has not looked at the first bytes yet (plain HTTP sent to a TLS port gets a 400).
    private var firstBytesPending: Bool
    public private(set) var failureReason: String?
    /// The peer ended the stream without close_notify after the handshake (a truncation attack, or a
    /// careless peer): reads report the end, and this says how it came.
    public private(set) var endedWithoutCloseNotify = false
    /// The last read stopped for room with records OpenSSL read ahead still unread (see `ByteStream`).
    public private(set) var hasBufferedInput = false
    /// The last read of the stream underneath gave less than OpenSSL asked for: the socket is drained.
    private var innerDrained = false

    /// Plain HTTP answered on a TLS port (nginx's answer, in clear text).
    static let plainHTTPAnswer = Array(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 52\r\nConnection: close\r\n\r\nThe plain HTTP request was sent to an HTTPS port.\r\n\r\n"
            .utf8
    )

    /// Starts TLS over `inner` as a server (`host` nil) or as a client of `host` (its SNI and the name its
    /// certificate must carry when the context verifies).
    ///
    /// - Throws: `TransportError` `.protocolError` when OpenSSL cannot make the connection.
    init(over inner: any ByteStream, context: TLSContext, host: String?) throws(TransportError) {
        self.inner = inner
        self.descriptor = inner.descriptor
        self.context = context
        self.isServer = context.isServer
        self.peerName = host ?? "client"
        // A client speaks first: its ClientHello needs room in the socket before anything can be read.
        self.readWaitsFor = context.isServer ? .readable : .writable
        self.firstBytesPending = context.isServer
        let made = wm_tls_new(context.pointer, context.isServer ? 1 : 0, host, { target, buffer, count, writing in
            // Unretained: the stream owns `tls` and frees it before it goes, so the callback never outlives it.
            let stream = Unmanaged<TLSStream>.fromOpaque(target!).takeUnretainedValue()
            return stream.transfer(buffer!, count: Int(count), writing: writing != 0)
        }, Unmanaged.passUnretained(self).toOpaque())
        guard let made else {
            throw TransportError(.protocolError, "start TLS with \(host ?? "a client")", detail: TLSLibrary.takeErrors() ?? "out of memory")
        }
        tls = made
    }

    deinit {
        if let tls { wm_tls_free(tls) }
    }

    // MARK: - What the connection sees

    public var isHandshaking: Bool {
        guard !handshakeDone, let tls else { return false }
        if wm_tls_handshake_done(tls) != 0 { handshakeDone = true }
        return !handshakeDone
    }

    public var securityDescription: String? {
        guard let tls, !isHandshaking else { return nil }
        return "\(String(cString: wm_tls_protocol(tls))) \(String(cString: wm_tls_cipher(tls)))"
    }

    /// The protocol version (`TLSv1.3`), once the handshake is done.
    public var protocolVersion: String? {
        guard let tls, !isHandshaking else { return nil }
        return String(cString: wm_tls_protocol(tls))
    }

    /// The cipher suite (`TLS_AES_128_GCM_SHA256`), once the handshake is done.
    public var cipherSuite: String? {
        guard let tls, !isHandshaking else { return nil }
        return String(cString: wm_tls_cipher(tls))
    }

    /// The protocol ALPN chose (`http/1.1`), or nil.
    public var negotiatedProtocol: String? {
        guard let tls else { return nil }
        var data: UnsafePointer<UInt8>?
        var length: CUnsignedInt = 0
        wm_tls_alpn(tls, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The peer certificate's subject (`/CN=client`), when the peer sent one.
    public var peerSubject: String? {
        guard let tls else { return nil }
        var name = [CChar](repeating: 0, count: 512)
        guard wm_tls_peer_subject(tls, &name, name.count) != 0 else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the handshake resumed an earlier session.
    public var isSessionReused: Bool { tls.map { wm_tls_session_reused($0) != 0 } ?? false }

    public func interest(forWanted wanted: IOEvents) -> IOEvents {
        var interest: IOEvents = []
        if wanted.contains(.readable) { interest.formUnion(readWaitsFor) }
        if wanted.contains(.writable) { interest.formUnion(writeWaitsFor) }
        return interest
    }

    public func attempts(forReady events: IOEvents) -> IOEvents {
        var attempts: IOEvents = events.subtracting(.interestMask)
        if !events.isDisjoint(with: readWaitsFor) || events.contains(.error) || events.contains(.hangup) {
            attempts.insert(.readable)
        }
        if !events.isDisjoint(with: writeWaitsFor) { attempts.insert(.writable) }
        return attempts
    }

    // MARK: - Reading and writing

    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(Errno) -> IOResult<Int> {
        guard let tls else { throw .badFileDescriptor }
        var total = 0
        hasBufferedInput = false
        innerDrained = false
        while total < count {
            var code: CInt = 0
            let result = wm_tls_read(tls, buffer + total, CInt(clamping: count - total), &code)
            if result > 0 {
                total += Int(result)
                readWaitsFor = .readable
                let pending = wm_tls_has_pending(tls) != 0
                // The socket gave less than OpenSSL asked for and nothing is left over: asking again
                // would only hear "would block" (a system call and an SSL_read per message saved).
                if innerDrained && !pending { break }
                // Another record (up to 16 KiB) must fit whole: a record split across two reads would
                // leave decrypted bytes in OpenSSL that no poll would announce. Records read ahead and
                // left there are announced by `hasBufferedInput` instead.
                if count - total < TLSLibrary.maxRecordSize {
                    hasBufferedInput = pending
                    break
                }
                continue
            }
            if total > 0 { break }  // deliver these; the next read meets the same condition again
            switch code {
            case TLSLibrary.wantRead:
                readWaitsFor = .readable
                return .wouldBlock
            case TLSLibrary.wantWrite:
                readWaitsFor = .writable
                return .wouldBlock
            case TLSLibrary.closedCleanly:
                return .processed(0)  // close_notify
            default:
                return try fail(code)
            }
        }
        return .processed(total)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        guard let tls else { throw .badFileDescriptor }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .processed(0) }
        var total = 0
        while total < bytes.count {
            var code: CInt = 0
            let result = wm_tls_write(tls, base + total, CInt(clamping: bytes.count - total), &code)
            if result > 0 {
                total += Int(result)
                writeWaitsFor = .writable
                continue
            }
            switch code {
            case TLSLibrary.wantRead: writeWaitsFor = .readable
            case TLSLibrary.wantWrite: writeWaitsFor = .writable
            default:
                // Records already written stand; the failure shows on the next call.
                if total > 0 { return .processed(total) }
                if code == TLSLibrary.closedCleanly { throw .brokenPipe }
                return try fail(code)
            }
            // A blocked record stays with OpenSSL: the connection retries from `total` with the same
            // bytes, which SSL_write requires.
            return total > 0 ? .processed(total) : .wouldBlock
        }
        return .processed(total)
    }

    public func writev(_ vectors: UnsafePointer<iovec>, count: Int) throws(Errno) -> IOResult<Int> {
        if count == 1 { return try write(UnsafeRawBufferPointer(start: vectors[0].iov_base, count: vectors[0].iov_len)) }
        // Small pieces (a response head, then its body) go out as one record, not one record each.
        // A retry gathers the same leading bytes again (the queue only grows at its end), as SSL_write
        // requires of a retried write.
        return try withUnsafeTemporaryAllocation(byteCount: TLSLibrary.maxRecordSize, alignment: 1) {
            (scratch) throws(Errno) -> IOResult<Int> in
            var gathered = 0
            for index in 0..<count {
                let piece = UnsafeRawBufferPointer(start: vectors[index].iov_base, count: vectors[index].iov_len)
                if gathered == 0 && piece.count >= TLSLibrary.directWriteSize { return try write(piece) }
                let taken = min(piece.count, scratch.count - gathered)
                if taken > 0 {
                    (scratch.baseAddress! + gathered).copyMemory(from: piece.baseAddress!, byteCount: taken)
                }
                gathered += taken
                if gathered == scratch.count { break }
            }
            return try write(UnsafeRawBufferPointer(start: scratch.baseAddress, count: gathered))
        }
    }

    public func shutdownOutput() {
        sayCloseNotify()
        inner.shutdownOutput()
    }

    public func close() {
        sayCloseNotify()
        if let tls { wm_tls_free(tls) }
        tls = nil
        inner.close()
    }

    /// Sends close_notify once, when the handshake finished and nothing failed (best effort: a full
    /// socket loses it, as it would lose any last bytes of a closing connection).
    private func sayCloseNotify() {
        guard let tls, !outputShut, !failed, handshakeDone || wm_tls_handshake_done(tls) != 0 else { return }
        outputShut = true
        var code: CInt = 0
        _ = wm_tls_shutdown(tls, &code)
    }

    // MARK: - Failures

    /// Turns OpenSSL's failure into the stream's answer: the end of the stream for a peer that left
    /// after the handshake without close_notify, the underlying error for a reset, otherwise EPROTO with
    /// OpenSSL's reason kept in `failureReason`.
    private func fail(_ code: CInt) throws(Errno) -> IOResult<Int> {
        failed = true
        let reasons = TLSLibrary.takeErrors()
        if let innerError {
            failureReason = failureReason ?? "TLS with \(peerName): \(innerError)"
            throw innerError
        }
        if innerEnded {
            if !isHandshaking {
                endedWithoutCloseNotify = true
                return .processed(0)
            }
            failureReason = "TLS handshake with \(peerName) failed: the peer closed the connection"
            throw Errno(rawValue: EPROTO)
        }
        var reason = reasons ?? "TLS error \(code)"
        if let tls, !isServer {
            let verification = wm_tls_verify_result(tls)
            if verification != 0 { reason += " (\(String(cString: wm_tls_verify_text(verification))))" }
        }
        failureReason = failureReason ?? "TLS handshake with \(peerName) failed: \(reason)"
        if !isHandshaking { failureReason = "TLS with \(peerName) failed: \(reason)" }
        throw Errno(rawValue: EPROTO)
    }

    // MARK: - The BIO's side

    /// Moves ciphertext for OpenSSL (see `wm_tls_transfer_fn`): bytes moved, 0 at the end, -1 "would
    /// block", -2 failed.
    private func transfer(_ buffer: UnsafeMutableRawPointer, count: Int, writing: Bool) -> Int {
        do {
            if writing {
                guard case .processed(let written) = try inner.write(UnsafeRawBufferPointer(start: buffer, count: count)), written > 0 else {
                    return -1
                }
                return written
            }
            guard case .processed(let read) = try inner.read(into: buffer, count: count) else { return -1 }
            innerDrained = read < count
            if read == 0 {
                innerEnded = true
                return 0
            }
            if firstBytesPending {
                firstBytesPending = false
                if PlainHTTPProbe.looksLikeHTTP(UnsafeRawBufferPointer(start: buffer, count: read)) {
                    answerPlainHTTP()
                    return -2
                }
            }
            return read
        } catch {
            innerError = error
            return -2
        }
    }

    /// Plain HTTP reached a TLS port: say so in clear text (what nginx answers), then the connection
    /// closes. What the client already sent is read and dropped first, so the close is a FIN and not a
    /// reset that could destroy the answer before the client reads it.
    private func answerPlainHTTP() {
        failureReason = "plain HTTP sent to a TLS port"
        innerError = Errno(rawValue: EPROTO)
        _ = Self.plainHTTPAnswer.withUnsafeBytes { try? inner.write($0) }
        var sink = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let result = sink.withUnsafeMutableBytes { try? inner.read(into: $0.baseAddress!, count: $0.count) }
            guard case .processed(let count)? = result, count > 0 else { break }
        }
        inner.shutdownOutput()
    }
}

@available(*, unavailable, message: "a TLS stream belongs to its connection's loop")
extension TLSStream: Sendable {}
