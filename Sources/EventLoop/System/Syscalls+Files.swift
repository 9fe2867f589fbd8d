#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Files and folders: what sessions, static files, uploads, the status board, logs and the pid file need.
// The same rules as the socket wrappers: EINTR retried, a typed `Errno` for the rest. Regular files never
// answer EAGAIN, so these return values, not `IOResult`.
extension Syscalls {
    /// Wraps `open(2)`; `O_CLOEXEC` is always added, so no descriptor leaks into a spawned child.
    package static func open(_ path: String, _ flags: CInt, mode: mode_t = 0) throws(Errno) -> CInt {
        try retrying("open") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Wraps `pread(2)`: up to `count` bytes at `offset`; 0 at the end of the file.
    package static func read(
        _ fd: CInt,
        into buffer: UnsafeMutableRawPointer,
        count: Int,
        at offset: Int
    ) throws(Errno) -> Int {
        try retrying("pread") { Glibc.pread(fd, buffer, count, off_t(offset)) }
    }

    /// Reads `fd` from where it stands to its end, with `read(2)`.
    package static func readToEnd(_ fd: CInt) throws(Errno) -> [UInt8] {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        var bytes: [UInt8] = []
        while true {
            let count = try retrying("read") { Glibc.read(fd, chunk.baseAddress, chunk.count) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Writes all of `bytes` with `write(2)`, continuing after partial writes.
    package static func writeAll(_ fd: CInt, _ bytes: some Collection<UInt8>) throws(Errno) {
        // `withUnsafeBytes` only rethrows untyped errors: the outcome travels out as a typed `Result`.
        let outcome: Result<Void, Errno> = Array(bytes).withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                do throws(Errno) {
                    offset += try retrying("write") { Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
                } catch {
                    return .failure(error)
                }
            }
            return .success(())
        }
        try outcome.get()
    }

    /// The whole content of the file at `path`.
    package static func readFile(_ path: String) throws(Errno) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { try? close(fd) }
        return try readToEnd(fd)
    }

    /// Replaces the content of the file at `path` (created with `mode` if missing).
    package static func writeFile(_ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = 0o644) throws(Errno) {
        let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        defer { try? close(fd) }
        try writeAll(fd, bytes)
    }

    /// Wraps `ftruncate(2)`.
    package static func truncate(_ fd: CInt, size: Int) throws(Errno) {
        _ = try retrying("ftruncate") { Glibc.ftruncate(fd, off_t(size)) }
    }

    /// Wraps `stat(2)`.
    package static func status(_ path: String) throws(Errno) -> stat {
        var info = stat()
        _ = try retrying("stat") { stat(path, &info) }
        return info
    }

    /// Wraps `lstat(2)`: a symbolic link itself, not what it points to.
    package static func linkStatus(_ path: String) throws(Errno) -> stat {
        var info = stat()
        _ = try retrying("lstat") { lstat(path, &info) }
        return info
    }

    /// Wraps `fstat(2)`.
    package static func status(_ fd: CInt) throws(Errno) -> stat {
        var info = stat()
        _ = try retrying("fstat") { fstat(fd, &info) }
        return info
    }

    /// Wraps `realpath(3)`: `path` absolute, with every symbolic link, `.` and `..` resolved. The path
    /// must exist.
    package static func resolvedPath(_ path: String) throws(Errno) -> String {
        guard let resolved = realpath(path, nil) else { throw Errno(rawValue: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Wraps `readlink(2)`: where the symbolic link at `path` points.
    package static func linkTarget(_ path: String) throws(Errno) -> String {
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: Int(PATH_MAX) + 1)
        defer { buffer.deallocate() }
        let length = try retrying("readlink") { readlink(path, buffer.baseAddress!, buffer.count - 1) }
        return String(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<length]), as: UTF8.self)
    }

    /// Wraps `unlink(2)`.
    package static func unlink(_ path: String) throws(Errno) {
        _ = try retrying("unlink") { Glibc.unlink(path) }
    }

    /// Wraps `rename(2)`: atomic within one file system.
    package static func rename(_ source: String, to destination: String) throws(Errno) {
        _ = try retrying("rename") { Glibc.rename(source, destination) }
    }

    /// Wraps `chmod(2)`.
    package static func changeMode(_ path: String, _ mode: mode_t) throws(Errno) {
        _ = try retrying("chmod") { chmod(path, mode) }
    }

    /// Wraps `fchown(2)`.
    package static func changeOwner(_ fd: CInt, user: uid_t, group: gid_t) throws(Errno) {
        _ = try retrying("fchown") { fchown(fd, user, group) }
    }

    /// Wraps `mkdir(2)`.
    package static func makeDirectory(_ path: String, mode: mode_t) throws(Errno) {
        _ = try retrying("mkdir") { Glibc.mkdir(path, mode) }
    }

    /// Wraps `rmdir(2)`.
    package static func removeDirectory(_ path: String) throws(Errno) {
        _ = try retrying("rmdir") { rmdir(path) }
    }

    /// Wraps `mkdtemp(3)`: a new, empty folder `<prefix>XXXXXX` with mode 0700; returns its path.
    package static func makeTemporaryDirectory(prefix: String) throws(Errno) -> String {
        let template = UnsafeMutableBufferPointer<CChar>.allocate(capacity: prefix.utf8.count + 7)
        defer { template.deallocate() }
        _ = template.initialize(from: (prefix + "XXXXXX").utf8CString)
        guard mkdtemp(template.baseAddress!) != nil else { throw Errno(rawValue: errno) }
        return String(cString: template.baseAddress!)
    }

    /// Wraps `mkstemp(3)`: a new file `<prefix>XXXXXX`, opened read-write with mode 0600, then marked
    /// close-on-exec (`mkostemp`, which does both at once, is not exported to Swift).
    ///
    /// - Returns: The descriptor and the file's path.
    package static func makeTemporaryFile(prefix: String) throws(Errno) -> (fd: CInt, path: String) {
        let template = UnsafeMutableBufferPointer<CChar>.allocate(capacity: prefix.utf8.count + 7)
        defer { template.deallocate() }
        _ = template.initialize(from: (prefix + "XXXXXX").utf8CString)
        let fd = try retrying("mkstemp") { mkstemp(template.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return (fd, String(cString: template.baseAddress!))
    }

    /// The names in the folder at `path` (`opendir(3)`/`readdir(3)`), without `.` and `..`.
    package static func directoryEntries(_ path: String) throws(Errno) -> [String] {
        guard let folder = opendir(path) else { throw Errno(rawValue: errno) }
        defer { closedir(folder) }
        var names: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Wraps `mmap(2)` of `size` bytes of `fd` (or anonymous memory when `fd` is nil), shared between
    /// the processes that map it.
    package static func mapShared(_ fd: CInt?, size: Int, writable: Bool) throws(Errno) -> UnsafeMutableRawPointer {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        let flags = fd == nil ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED
        let mapped = Glibc.mmap(nil, size, protection, flags, fd ?? -1, 0)
        guard let mapped, mapped != MAP_FAILED else { throw Errno(rawValue: errno) }
        return mapped
    }

    /// Wraps `munmap(2)`; it fails only for a range that was never mapped, our bug.
    package static func unmap(_ address: UnsafeMutableRawPointer, size: Int) {
        let result = Glibc.munmap(address, size)
        assert(result == 0, "munmap of a range that was never mapped")
    }

    /// Wraps `kill(2)`; signal 0 only checks that `pid` exists and may be signalled.
    package static func signal(_ pid: pid_t, _ signal: CInt) throws(Errno) {
        _ = try retrying("kill") { Glibc.kill(pid, signal) }
    }
}
