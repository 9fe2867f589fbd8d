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
        var template = Array("\(self.directory(directory))/workerman-upload-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw MultipartError("cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var written = 0
        while written < bytes.count {
            let result = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                unlink(path)
                throw MultipartError("cannot write \(path): \(reason)")
            }
            written += result
        }
        return path
    }

    /// Reads a whole file.
    static func read(_ path: String) throws(MultipartError) -> ByteBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MultipartError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer = ByteBuffer()
        while true {
            let target = buffer.reserveWritable(65_536)
            let result = Glibc.read(fd, target, 65_536)
            if result < 0 {
                if errno == EINTR { continue }
                throw MultipartError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if result == 0 { return buffer }
            buffer.commitWritten(result)
        }
    }
}
