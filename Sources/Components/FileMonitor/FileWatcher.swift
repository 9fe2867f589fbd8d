import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Something that reports changed paths on an event loop: inotify, or polling as the fallback.
protocol FileWatcher: AnyObject {
    /// Starts watching; `onChange` runs on the loop with the paths that changed (created, written,
    /// moved or removed). A path of a directory means "something in here" (e.g. after an overflow).
    func start(on loop: EventLoop, onChange: @escaping ([String]) -> Void) throws(FileMonitorError)
    func stop()
}

/// Why watching could not start.
public struct FileMonitorError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Directory walking and `stat` without Foundation.
enum FileTree {
    struct Signature: Equatable {
        var seconds: Int
        var nanoseconds: Int
        var size: Int
        var inode: UInt
        var mode: UInt32
    }

    static func signature(_ path: String) -> Signature? {
        guard let info = try? Syscalls.status(path) else { return nil }  // gone: the caller reports it
        return Signature(
            seconds: info.st_mtim.tv_sec,
            nanoseconds: info.st_mtim.tv_nsec,
            size: Int(info.st_size),
            inode: UInt(info.st_ino),
            mode: info.st_mode
        )
    }

    static func isDirectory(_ path: String) -> Bool {
        guard let signature = signature(path) else { return false }
        return signature.mode & S_IFMT == S_IFDIR
    }

    /// The entries of a directory (names), without `.` and `..`.
    static func entries(_ directory: String) -> [String] {
        // A directory removed or unreadable meanwhile has no entries to watch.
        (try? Syscalls.directoryEntries(directory)) ?? []
    }

    /// `root` and every directory below it (not following symbolic links into loops: depth-bounded).
    static func directories(under root: String, depth: Int = 32) -> [String] {
        guard depth > 0, isDirectory(root) else { return [] }
        var found = [root]
        for name in entries(root) {
            let path = root == "/" ? "/\(name)" : "\(root)/\(name)"
            // lstat: a symbolic link to a directory is not descended into.
            if let info = try? Syscalls.linkStatus(path), info.st_mode & S_IFMT == S_IFDIR {
                found += directories(under: path, depth: depth - 1)
            }
        }
        return found
    }

    /// The absolute, resolved form of `path`, or `path` itself when it does not exist yet.
    static func resolved(_ path: String) -> String {
        (try? Syscalls.resolvedPath(path)) ?? path
    }

    /// The file this process runs: `/proc/self/exe`, read now. Why now: after the file is replaced by a
    /// rebuild, the link names the old, deleted file (` (deleted)`), not the path to watch.
    static func runningExecutable() -> String? {
        guard var path = try? Syscalls.linkTarget("/proc/self/exe") else { return nil }
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path
    }
}
