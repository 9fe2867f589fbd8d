import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Temporary files for large uploads, with plain POSIX calls (no Foundation).
enum TemporaryFile {
    /// The directory for temporary files: `directory`, else `$TMPDIR`, else the C library's `P_tmpdir`.
    static func directory(_ directory: String?) -> String {
        if let directory, !directory.isEmpty { return directory }
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return P_tmpdir
    }

    /// Writes `bytes` to a new file (`workerman-upload-XXXXXX`, mode 0600) and returns its path.
    static func write(_ bytes: UnsafeRawBufferPointer, directory: String?) throws(MultipartError) -> String {
        let file: (fd: CInt, path: String)
        do {
            file = try Syscalls.makeTemporaryFile(prefix: "\(self.directory(directory))/workerman-upload-")
        } catch {
            throw MultipartError("cannot create a temporary file: \(error)")
        }
        defer { try? Syscalls.close(file.fd) }
        do {
            try Syscalls.writeAll(file.fd, bytes)
        } catch {
            try? Syscalls.unlink(file.path)
            throw MultipartError("cannot write \(file.path): \(error)")
        }
        return file.path
    }

    /// Reads a whole file.
    static func read(_ path: String) throws(MultipartError) -> ByteBuffer {
        do {
            return ByteBuffer(try Syscalls.readFile(path))
        } catch {
            throw MultipartError("cannot read \(path): \(error)")
        }
    }
}
