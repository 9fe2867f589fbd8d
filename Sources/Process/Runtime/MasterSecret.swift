import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// A random secret the master makes once when it starts and hands to every child it spawns, so the
/// children of one master can agree on keys without a word between them: TLS session-ticket keys, so a
/// client resumes on whichever child accepts it next.
///
/// It lives only in memory (and in the children's start-up environment, read and removed before any
/// user callback runs): a new master, or a restart, makes a new one. Deriving keys from anything on disk,
/// such as the private key, would let whoever later steals that file decrypt every ticket ever issued,
/// and with TLS 1.2 tickets the sessions themselves.
///
/// ```swift
/// if let seed = MasterSecret.seed { /* derive per-purpose keys from it, e.g. HMAC(seed, "tickets" + period) */ }
/// ```
public enum MasterSecret {
    static let variable = "WORKERMAN_SESSION_SECRET"

    /// The master's secret (32 bytes): in the master itself and in every child it spawned; nil in a
    /// program that is not run by `runAll()` (a `TCPServer` of its own), where each process keeps its own
    /// keys. The first read in a child takes it out of the environment (on the main thread, as `main`
    /// and `runAll()` run), so programs the child starts never see it.
    public static var seed: [UInt8]? {
        storage.withLock { state in
            if case .unread = state { state = .read(takeFromEnvironment()) }
            if case .read(let bytes) = state { return bytes }
            return nil
        }
    }

    private enum State {
        case unread
        case read([UInt8]?)
    }

    /// Set on the main thread at start, read by any thread afterwards; the lock keeps that visible to
    /// ThreadSanitizer.
    private static let storage = ThreadLock(State.unread)

    /// Made in the master before its first child starts (and by tests that play a master).
    package static func makeForMaster() {
        var generator = SystemRandomNumberGenerator()  // getrandom(2): a cryptographic source on Linux
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        storage.withLock { $0 = .read(bytes) }
    }

    /// The value to put in a child's environment.
    static var environmentValue: String? {
        seed.map { bytes in bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined() }
    }

    /// Reads and removes the secret a child was started with.
    private static func takeFromEnvironment() -> [UInt8]? {
        guard let raw = getenv(variable) else { return nil }
        let text = Array(String(cString: raw).utf8)
        unsetenv(variable)
        guard text.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: text[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
