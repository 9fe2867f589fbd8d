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
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FileError(operation: "mkdtemp \(base)/\(prefix)-XXXXXX", cause: Errno(rawValue: errno))
        }
        return String(cString: made)
    }

    /// The whole contents of `path`; nil when it cannot be opened.
    public static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The whole contents of `path` as UTF-8 text; nil when it cannot be opened.
    public static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Replaces the contents of `path` (created with mode 0644 if missing) with `bytes`.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(operation: "open \(path)", cause: Errno(rawValue: errno)) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw FileError(operation: "write \(path)", cause: Errno(rawValue: errno)) }
            offset += count
        }
    }

    /// Replaces the contents of `path` with `text`.
    public static func write(_ text: String, to path: String) throws(FileError) {
        try write(Array(text.utf8), to: path)
    }

    /// The names in directory `path` (without `.` and `..`), sorted; [] when it cannot be read.
    public static func names(in path: String) -> [String] {
        guard let folder = opendir(path) else { return [] }
        defer { closedir(folder) }
        var names: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes `path` and, for a directory, everything under it (symbolic links are removed, never
    /// followed).
    public static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            unlink(path)
            return
        }
        for name in names(in: path) { removeTree(path + "/" + name) }
        rmdir(path)
    }
}
