import CWorkermanShims
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Session ticket keys that every process of a worker derives by itself, so a client resumes its
/// session on whichever child accepts it next (Workerman's children each make a random key, and a
/// client resumes only if it lands on the same one).
///
/// The key is SHA-256 of the private key file's bytes and the current rotation period: secret exactly
/// as long as the private key is, the same in every process that reads the same key, and new each
/// period without a word between processes (tickets from the previous period then fall back to a full
/// handshake). A new private key (a reload after renewal) also gives new ticket keys.
struct TLSTicketKeys {
    /// Seconds each key is used.
    let rotation: Int
    private let secret: [UInt8]
    private(set) var period = -1

    /// Reads `keyFile` (nil when it cannot be read: the context keeps OpenSSL's own random keys).
    init?(keyFile: String, rotation: Int) {
        guard let bytes = Self.read(keyFile), !bytes.isEmpty else { return nil }
        self.secret = bytes
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

    private static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk.prefix(count)
        }
        return bytes
    }
}
