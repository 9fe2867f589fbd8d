import CWorkermanShims
import WorkermanTransport

/// An RSA public key in PEM (`-----BEGIN PUBLIC KEY-----`), for encrypting a short secret to its owner
/// through the same run-time OpenSSL as TLS. MySQL's `caching_sha2_password` sends a password this way
/// to a server reached without TLS.
///
/// ```swift
/// let key = RSAPublicKey(pem: serverKeyPEM)
/// let secret = try key.encryptOAEP(Array("password".utf8) + [0])
/// ```
public struct RSAPublicKey: Sendable, Equatable {
    public let pem: [UInt8]

    public init(pem: [UInt8]) { self.pem = pem }

    /// RSA with OAEP padding (SHA-1, MGF1-SHA-1).
    ///
    /// - Throws: `TransportError` `.protocolError` when OpenSSL is missing, the key does not parse, or
    ///   `data` is too long for it.
    public func encryptOAEP(_ data: [UInt8]) throws(TransportError) -> [UInt8] {
        let operation = "RSA-OAEP encrypt"
        try TLSLibrary.require(operation)
        var out = [UInt8](repeating: 0, count: 2048)  // a 16384-bit key's ciphertext; MySQL uses 2048 bits
        let written = pem.withUnsafeBytes { key in
            data.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { output in
                    wm_tls_rsa_oaep_encrypt(
                        key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                        input.baseAddress, input.count, output.baseAddress, output.count
                    )
                }
            }
        }
        guard written > 0 else {
            throw TransportError(.protocolError, operation, detail: TLSLibrary.takeErrors() ?? "not an RSA public key in PEM")
        }
        return Array(out.prefix(written))
    }
}
