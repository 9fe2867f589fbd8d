import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Serves files from a directory (Workerman 3's `WebServer`): index files, `ETag`/`Last-Modified` with 304,
/// `Range` with 206 and 416, content types by extension, and files streamed with back-pressure (a 1 GiB file
/// never sits in memory: the next 64 KiB is read only when the connection's output drains). Paths cannot
/// leave the root: `..` segments (also percent-encoded) are refused with 403, and a symlink that resolves
/// outside the root is 404.
///
/// ```swift
/// let files = try StaticFiles(root: "./public")
/// web.onMessage = { connection, request in
///     if files.serve(request, on: connection) { return }
///     connection.send(.response(HTTPResponse(status: .notFound, body: "not found")))
/// }
/// ```
public final class StaticFiles {
    /// The root directory, resolved (no symlinks), without a trailing slash.
    public let root: String
    /// Tried in a directory, in order.
    public var indexFiles = ["index.html", "index.htm"]
    /// Output queued at most while streaming a file.
    public var streamWindow = 256 * 1024

    /// - Throws: `CodecRejection` naming the root when it is not an existing directory.
    public init(root: String) throws {
        guard let resolved = realpath(root, nil) else {
            throw CodecRejection("static file root \(root) does not exist")
        }
        defer { free(resolved) }
        var info = stat()
        let path = String(cString: resolved)
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw CodecRejection("static file root \(root) is not a directory")
        }
        self.root = path == "/" ? "" : path
    }

    /// Answers `request` from the root if it names a file there: true when it sent an answer (the file,
    /// 304, 206, 416, 403, a redirect to the directory's slash), false when nothing is there (the caller
    /// routes it on, or answers 404). Only GET and HEAD are served.
    @discardableResult
    public func serve(_ request: HTTPRequest, on connection: TCPConnection<HTTPServerCodec>) -> Bool {
        guard request.method == .get || request.method == .head else { return false }
        let decoded = PercentDecoding.decode(request.path)
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: true)
        if segments.contains(where: { $0 == ".." || $0.contains("\0") }) {
            connection.send(.response(HTTPResponse(status: .forbidden, body: "<h3>403 Forbidden</h3>")))
            return true
        }
        var path = root + "/" + segments.joined(separator: "/")
        guard var info = Self.status(of: path) else { return false }
        if info.st_mode & S_IFMT == S_IFDIR {
            guard decoded.hasSuffix("/") else {
                let query = request.queryString.isEmpty ? "" : "?" + request.queryString
                connection.send(.response(HTTPResponse(status: .movedPermanently, headers: ["Location": request.path + "/" + query], body: "")))
                return true
            }
            guard let index = indexFiles.lazy.map({ path + "/" + $0 }).first(where: { Self.status(of: $0).map { $0.st_mode & S_IFMT == S_IFREG } ?? false }) else {
                return false
            }
            path = index
            info = Self.status(of: path)!
        }
        guard info.st_mode & S_IFMT == S_IFREG, isInsideRoot(path) else { return false }
        respond(to: request, path: path, info: info, on: connection)
        return true
    }

    private func respond(to request: HTTPRequest, path: String, info: stat, on connection: TCPConnection<HTTPServerCodec>) {
        let size = Int(info.st_size)
        let modified = Int(info.st_mtim.tv_sec)
        let etag = "\"\(String(modified, radix: 16))-\(String(size, radix: 16))\""
        let lastModified = HTTPDate.format(epochSeconds: modified)
        var headers: HTTPHeaders = [
            "Content-Type": MIMETypes.type(forPath: path), "ETag": etag, "Last-Modified": lastModified,
            "Accept-Ranges": "bytes",
        ]
        let notModified: Bool
        if let match = request.header("If-None-Match") {
            notModified = match == "*" || match.split(separator: ",").contains { $0.trimmingASCIIWhitespaceSubstring() == etag || $0.trimmingASCIIWhitespaceSubstring() == "W/" + etag }
        } else {
            notModified = request.header("If-Modified-Since") == lastModified
        }
        if notModified {
            connection.send(.response(HTTPResponse(status: .notModified, headers: ["ETag": etag, "Last-Modified": lastModified])))
            return
        }
        var range = ByteRange(header: request.header("Range"), size: size)
        if let ifRange = request.header("If-Range"), ifRange != etag && ifRange != lastModified { range = .whole }
        let first: Int
        let length: Int
        let status: HTTPStatus
        switch range {
        case .whole:
            (first, length, status) = (0, size, .ok)
        case .part(let start, let last):
            (first, length, status) = (start, last - start + 1, .partialContent)
            headers["Content-Range"] = "bytes \(start)-\(last)/\(size)"
        case .unsatisfiable:
            connection.send(.response(HTTPResponse(status: .rangeNotSatisfiable, headers: ["Content-Range": "bytes */\(size)"], body: "")))
            return
        }
        headers["Content-Length"] = String(length)
        guard request.method != .head, length > 0 else {
            connection.send(.response(HTTPResponse(status: status, headers: headers)))
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            connection.send(.response(HTTPResponse(status: .forbidden, body: "<h3>403 Forbidden</h3>")))
            return
        }
        // The head (its Content-Length announces the body), then the bytes straight from the file.
        let stream = FileStream(fd: fd, offset: first, remaining: length, window: streamWindow, connection: connection)
        stream.start(head: HTTPResponse(status: status, headers: headers))
    }

    /// Whether `path`, with symlinks resolved, is still under the root.
    private func isInsideRoot(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        defer { free(resolved) }
        let real = String(cString: resolved)
        return real.hasPrefix(root + "/")
    }

    private static func status(of path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }
}

/// Streams part of a file to a connection, a window at a time: reading stops while the connection's
/// output is over `window` and resumes from its drain hook. While it streams, the connection reads no
/// further requests, so a pipelined answer cannot land inside the file's bytes.
final class FileStream {
    private let fd: CInt
    private var offset: Int
    private var remaining: Int
    private let window: Int
    private weak var connection: TCPConnection<HTTPServerCodec>?
    static let chunkSize = 64 * 1024

    init(fd: CInt, offset: Int, remaining: Int, window: Int, connection: TCPConnection<HTTPServerCodec>) {
        self.fd = fd
        self.offset = offset
        self.remaining = remaining
        self.window = window
        self.connection = connection
    }

    deinit { close(fd) }

    /// Sends `head`, then the file. The stream is registered first, so a close the head brings (a request
    /// that did not want keep-alive) waits for the file's last byte.
    func start(head: HTTPResponse) {
        guard let connection else { return }
        connection.drainHook = { [self] in self.pump() }  // keeps this stream alive until done or closed
        connection.pauseReceiving()
        connection.send(.response(head))
        pump()
    }

    private func pump() {
        guard let connection, connection.status == .established else { return }
        var chunk = ByteBuffer(capacity: Self.chunkSize)
        while remaining > 0 && connection.sendBufferQueueSize < window && connection.status == .established {
            chunk.clear()
            let wanted = min(Self.chunkSize, remaining)
            let target = chunk.reserveWritable(wanted)
            let count = pread(fd, target, wanted, off_t(offset))
            guard count > 0 else {
                // The file shrank or failed under us: the promised length cannot be kept; end the connection.
                connection.destroy()
                return
            }
            chunk.commitWritten(count)
            offset += count
            remaining -= count
            connection.sendRaw(chunk)
        }
        if remaining == 0 {
            connection.resumeReceiving()
            connection.endStream()
        }
    }
}

extension Substring {
    fileprivate func trimmingASCIIWhitespaceSubstring() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
