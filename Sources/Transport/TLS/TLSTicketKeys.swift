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
/// word between processes, and gone with the master. Nothing on disk leads to it: had it come from the
/// private key file, whoever stole that file later could decrypt every ticket ever issued, and with
/// TLS 1.2 the sessions too.
///
/// Rotation is graceful: the previous period's key still opens tickets for one more period (a ticket
/// issued a second before the rotation resumes a second after it), and such a session gets a new ticket
/// under the current key. A child that starts mid-period installs both keys at once, so it opens what
/// its older siblings issued.
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

    /// Installs the keys for now (and the previous period's) into `context` when the period changed
    /// since the last call.
    mutating func refresh(_ context: TLSContext, now: Int) {
        let current = now / rotation
        guard current != period else { return }
        period = current
        let issuing = key(for: current)
        let previous = key(for: current - 1)
        issuing.withUnsafeBufferPointer { issuing in
            previous.withUnsafeBufferPointer { previous in
                _ = wm_tls_context_set_ticket_keys(context.pointer, issuing.baseAddress, previous.baseAddress)
            }
        }
    }

    /// The 80 bytes of period `period`'s key: its name, HMAC secret and AES key, each from its own hash.
    private func key(for period: Int) -> [UInt8] {
        var keys: [UInt8] = []
        for part in 0..<3 {
            keys += Self.sha256(Array("workerman ticket key \(part) period \(period)".utf8) + secret)
        }
        return Array(keys.prefix(80))
    }

    private static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBytes { _ = wm_tls_sha256($0.baseAddress, $0.count, &digest) }
        return digest
    }
}
