import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Files and directories of a test: a fresh temporary directory per test, whole-file reads and writes,
/// and removal of a whole tree, without Foundation.
///
/// ```swift
/// let directory = try TestFiles.makeTemporaryDirectory("wm-process")
/// defer { TestFiles.removeTree(directory) }
/// try TestFiles.write("8080\n", to: directory + "/port")
/// ```
public enum TestFiles {
    /// A file operation that failed.
    public struct FileError: Error, CustomStringConvertible {
        public let operation: String
        public let cause: Errno

        public var description: String { "\(operation): \(cause)" }
    }

    /// A new, empty directory `<prefix>-XXXXXX` under `$TMPDIR`, or the system's temporary directory.
    public static func makeTemporaryDirectory(_ prefix: String) throws(FileError) -> String {
        var base = getenv("TMPDIR").map { String(cString: $0) } ?? ""
        if base.isEmpty { base = P_tmpdir }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        do {
            return try Syscalls.makeTemporaryDirectory(prefix: "\(base)/\(prefix)-")
        } catch {
            throw FileError(operation: "mkdtemp \(base)/\(prefix)-XXXXXX", cause: error)
        }
    }

    /// The whole contents of `path`; nil when it cannot be opened.
    public static func readBytes(_ path: String) -> [UInt8]? {
        try? Syscalls.readFile(path)
    }

    /// The whole contents of `path` as UTF-8 text; nil when it cannot be opened.
    public static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Replaces the contents of `path` (created with mode 0644 if missing) with `bytes`.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        do {
            try Syscalls.writeFile(path, bytes)
        } catch {
            throw FileError(operation: "write \(path)", cause: error)
        }
    }

    /// Replaces the contents of `path` with `text`.
    public static func write(_ text: String, to path: String) throws(FileError) {
        try write(Array(text.utf8), to: path)
    }

    /// The names in directory `path` (without `.` and `..`), sorted; [] when it cannot be read.
    public static func names(in path: String) -> [String] {
        ((try? Syscalls.directoryEntries(path)) ?? []).sorted()
    }

    /// Removes `path` and, for a directory, everything under it (symbolic links are removed, never
    /// followed). Best effort: what cannot be removed stays.
    public static func removeTree(_ path: String) {
        guard let info = try? Syscalls.linkStatus(path) else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            try? Syscalls.unlink(path)
            return
        }
        for name in names(in: path) { removeTree(path + "/" + name) }
        try? Syscalls.removeDirectory(path)
    }
}
