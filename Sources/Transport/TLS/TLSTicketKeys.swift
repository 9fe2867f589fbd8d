import CWorkermanShims
import WorkermanEventLoop
import WorkermanProcess
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Session ticket keys that every process of a worker derives by itself, so a client resumes its
/// session on whichever child accepts it next (Workerman's children each make a random key, and a
/// client resumes only if it lands on the same one).
///
/// The key is SHA-256 of the master's random secret (`MasterSecret`, handed to each child as it starts)
/// and the current rotation period: the same in every child of one master, new each period without a
/// word between processes (tickets from the previous period then fall back to a full handshake), and
/// gone with the master. Nothing on disk leads to it: had it come from the private key file, whoever
/// stole that file later could decrypt every ticket ever issued, and with TLS 1.2 the sessions too.
struct TLSTicketKeys {
    /// Seconds each key is used.
    let rotation: Int
    private let secret: [UInt8]
    private(set) var period = -1

    /// Nil outside a master's children (no shared secret): the context keeps OpenSSL's own random keys.
    init?(rotation: Int, secret: [UInt8]? = MasterSecret.seed) {
        guard let secret, !secret.isEmpty else { return nil }
        self.secret = secret
        self.rotation = max(60, rotation)
    }

    /// Installs the key for now into `context` when the period changed since the last call.
    mutating func refresh(_ context: TLSContext, now: Int = time(nil)) {
        let current = now / rotation
        guard current != period else { return }
        period = current
        var keys: [UInt8] = []
        for part in 0..<3 {
            keys += Self.sha256(Array("workerman ticket key \(part) period \(current)".utf8) + secret)
        }
        keys.withUnsafeBufferPointer { _ = wm_tls_context_set_ticket_keys(context.pointer, $0.baseAddress, 80) }
    }

    private static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBytes { _ = wm_tls_sha256($0.baseAddress, $0.count, &digest) }
        return digest
    }
}
