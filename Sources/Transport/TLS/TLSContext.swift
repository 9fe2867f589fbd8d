import CWorkermanShims
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A TLS protocol version. Only TLS 1.2 and 1.3 are offered: older ones are broken or deprecated
/// (RFC 8996).
public enum TLSVersion: Int, Comparable, Sendable {
    case tls12 = 0x0303
    case tls13 = 0x0304

    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Cipher choices.
public enum TLSCiphers {
    /// Mozilla's "intermediate" TLS 1.2 list (forward secrecy and AEAD only); TLS 1.3 suites are
    /// OpenSSL's defaults, which are all AEAD.
    public static let intermediate =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
}

/// An OpenSSL SSL_CTX: the settings and certificates many connections share. Loop-bound like the
/// configuration that owns it (each process builds its own when it starts).
final class TLSContext {
    let pointer: OpaquePointer
    let isServer: Bool

    init(server: Bool, operation: String) throws(TransportError) {
        try TLSLibrary.require(operation)
        guard let pointer = wm_tls_context_new(server ? 1 : 0) else {
            throw TransportError(.protocolError, operation, detail: TLSLibrary.takeErrors() ?? "OpenSSL refused a new context")
        }
        self.pointer = pointer
        self.isServer = server
    }

    deinit { wm_tls_context_free(pointer) }

    /// Runs an OpenSSL setting; a refusal becomes an error naming `what` and OpenSSL's reason.
    func apply(_ what: String, _ operation: String, _ body: (OpaquePointer) -> CInt) throws(TransportError) {
        guard body(pointer) == 1 else {
            throw TransportError(.protocolError, operation, detail: "\(what): \(TLSLibrary.takeErrors() ?? "refused by OpenSSL")")
        }
    }

    func setVersions(_ lowest: TLSVersion, _ highest: TLSVersion, _ operation: String) throws(TransportError) {
        try apply("TLS versions", operation) { wm_tls_context_set_versions($0, CInt(lowest.rawValue), CInt(highest.rawValue)) }
    }

    func setCiphers(_ tls12: String?, _ tls13: String?, _ operation: String) throws(TransportError) {
        try apply("cipher list", operation) { wm_tls_context_set_ciphers($0, tls12, tls13) }
    }

    func setALPN(_ protocols: [String], _ operation: String) throws(TransportError) {
        guard !protocols.isEmpty else { return }
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, bytes.count < 256 else {
                throw TransportError(.protocolError, operation, detail: "ALPN protocol name must be 1 to 255 bytes: \(name)")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        try apply("ALPN", operation) { context in wire.withUnsafeBufferPointer { wm_tls_context_set_alpn(context, $0.baseAddress, CUnsignedInt($0.count)) } }
    }

    /// Loads a certificate chain and its key, checking first that the files can be read (for an error
    /// that names the file) and then that the key belongs to the certificate.
    func useCertificate(chain: String, key: String, passphrase: String?, _ operation: String) throws(TransportError) {
        try Self.checkReadable(chain, "certificate chain", operation)
        try Self.checkReadable(key, "private key", operation)
        try apply("certificate chain \(chain)", operation) { wm_tls_context_use_chain_file($0, chain) }
        guard wm_tls_context_use_key_file(pointer, key, passphrase) == 1 else {
            let reason = TLSLibrary.takeErrors() ?? "refused by OpenSSL"
            // OpenSSL compares the key with the certificate as it loads it.
            let what = reason.contains("mismatch")
                ? "private key \(key) does not match certificate \(chain)"
                : "private key \(key)\(passphrase == nil ? "" : " (with its passphrase)")"
            throw TransportError(.protocolError, operation, detail: "\(what): \(reason)")
        }
        try apply("private key \(key) does not match certificate \(chain)", operation) { wm_tls_context_check_key($0) }
    }

    func setVerification(mode: CInt, caFile: String?, caDirectory: String?, systemStore: Bool, _ operation: String) throws(TransportError) {
        if let caFile { try Self.checkReadable(caFile, "CA file", operation) }
        try apply("trusted certificates", operation) { wm_tls_context_set_verify($0, mode, caFile, caDirectory, systemStore ? 1 : 0) }
    }

    static func checkReadable(_ path: String, _ what: String, _ operation: String) throws(TransportError) {
        guard access(path, R_OK) == 0 else {
            throw TransportError(.protocolError, operation, cause: Errno(rawValue: errno), detail: "\(what) \(path) cannot be read")
        }
    }
}

@available(*, unavailable, message: "a TLS context belongs to one process's loop")
extension TLSContext: Sendable {}
