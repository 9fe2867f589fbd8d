import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Where sessions live between requests (Workerman's session handlers). Implement it for Redis or a
/// database; `FileSessionStore` is the default.
public protocol SessionStore: AnyObject {
    /// The data of session `id`, or nil if there is none (or it expired).
    func read(_ id: String) -> [String: String]?
    /// Saves session `id`.
    func write(_ id: String, _ data: [String: String])
    /// Deletes session `id`.
    func destroy(_ id: String)
    /// Deletes sessions idle for more than `maxLifetime` seconds.
    func collectGarbage(maxLifetime: Int)
}

/// Sessions as files `session_<id>` in a directory (Workerman's default handler), one line per key:
/// the key and the value percent-encoded, separated by `=`. Expiry is the file's modification time.
public final class FileSessionStore: SessionStore {
    public let directory: String
    public var maxLifetime: Int

    /// - Throws: `CodecRejection` naming the directory when it cannot be created or written.
    public init(directory: String, maxLifetime: Int = 1440) throws {
        self.directory = directory
        self.maxLifetime = maxLifetime
        if !Syscalls.isAccessible(directory, .writable) {
            do {
                try Syscalls.makeDirectory(directory, mode: 0o700)
            } catch where error == .fileExists {
                // Made meanwhile by another worker process: the access check below decides.
            } catch {
                throw CodecRejection("session directory \(directory) cannot be created: \(error)")
            }
            guard Syscalls.isAccessible(directory, .writable) else {
                throw CodecRejection("session directory \(directory) is not writable")
            }
        }
    }

    private func path(_ id: String) -> String? {
        // Ids come from cookies: only our own alphabet reaches the file system.
        guard !id.isEmpty, id.utf8.count <= 64, id.utf8.allSatisfy({ ASCII.hexValue($0) != nil }) else { return nil }
        return "\(directory)/session_\(id)"
    }

    public func read(_ id: String) -> [String: String]? {
        guard let path = path(id) else { return nil }
        // A session that is missing, expired or unreadable is no session: the caller starts a new one.
        guard let info = try? Syscalls.status(path) else { return nil }
        if Int(time(nil)) - Int(info.st_mtim.tv_sec) > maxLifetime {
            try? Syscalls.unlink(path)
            return nil
        }
        guard let bytes = try? Syscalls.readFile(path) else { return nil }
        var data: [String: String] = [:]
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = line[line.startIndex..<equals].withUnsafeBytes { PercentDecoding.decode($0) }
            let value = line[(equals + 1)...].withUnsafeBytes { PercentDecoding.decode($0) }
            data[key] = value
        }
        return data
    }

    public func write(_ id: String, _ data: [String: String]) {
        guard let path = path(id) else { return }
        var text = ""
        for (key, value) in data.sorted(by: { $0.key < $1.key }) {
            text += PercentEncoding.encode(key) + "=" + PercentEncoding.encode(value) + "\n"
        }
        // Written to a temporary file and renamed, so a reader never sees half a session.
        let temporary = path + ".tmp\(getpid())"
        // A session that cannot be saved is lost, as with PHP's file handler; the request is still answered.
        do {
            try Syscalls.writeFile(temporary, text.utf8, mode: 0o600)
            try Syscalls.rename(temporary, to: path)
        } catch {
            try? Syscalls.unlink(temporary)
        }
    }

    public func destroy(_ id: String) {
        if let path = path(id) { try? Syscalls.unlink(path) }
    }

    public func collectGarbage(maxLifetime: Int) {
        guard let names = try? Syscalls.directoryEntries(directory) else { return }
        let now = Int(time(nil))
        for name in names where name.hasPrefix("session_") {
            let path = "\(directory)/\(name)"
            // Gone meanwhile (another worker collected it): nothing to do.
            if let info = try? Syscalls.status(path), now - Int(info.st_mtim.tv_sec) > maxLifetime {
                try? Syscalls.unlink(path)
            }
        }
    }
}

/// Percent-encoding of everything but unreserved characters (RFC 3986 §2.3).
enum PercentEncoding {
    static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
