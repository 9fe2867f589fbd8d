// Shared pieces of the HTTP real-client tests (HTTPRealClientTests, StaticFilesTests, HTTPSessionTests,
// HTTPSlowClientTests): a temporary directory per test, external clients (curl, python3) run as child
// processes while the test's loop serves them, a raw loopback client, and a small parser for the
// responses those clients print. The server always runs in the test's own loop (WSLoop), on 127.0.0.1
// port 0; clients are bounded by their own timeouts and the loop's guard timer.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Temporary directories

/// A fresh directory made by `mkdtemp` under `$TMPDIR` (or the system's), removed with its contents by
/// `remove()`; nothing of its path is ever written into a file of the repository.
final class HTTPTempDir {
    let path: String

    init() throws {
        path = try TestFiles.makeTemporaryDirectory("wmhttp")
    }

    func path(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` (relative to the directory).
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let file = path(name)
        do {
            try TestFiles.write(bytes, to: file)
        } catch {
            preconditionFailure("\(error)")
        }
        return file
    }

    func makeDirectory(_ name: String) { mkdir(path(name), 0o755) }

    /// The names in `name` (relative; "" for the directory itself), sorted.
    func list(_ name: String = "") -> [String] { TestFiles.names(in: name.isEmpty ? path : path(name)) }

    func remove() { removeTree(path) }
}

/// The contents of `path`, or nil.
func readWholeFile(_ path: String) -> [UInt8]? { TestFiles.readBytes(path) }

/// Removes `path` and, for a directory, everything under it (symlinks are removed, never followed).
func removeTree(_ path: String) { TestFiles.removeTree(path) }

// MARK: - Child processes served by the loop

extension WSLoop {
    /// Runs `argv` (stderr discarded) while the loop serves, until its output ends (it exited) or `timeout`
    /// seconds pass; its exit status (nil: killed by the bound) and standard output.
    func runChild(_ argv: [String], timeout: Double = 10, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (status: CInt?, output: [UInt8])
    {
        let child = try WSChild(argv, quiet: true)
        defer { child.kill() }
        try child.watch(in: loop, onEnd: { [unowned self] in self.done() })
        try run(timeout: timeout, sourceLocation: sourceLocation)
        child.closeOutput(in: loop)
        let status = child.wait(timeout: 3)
        var code: CInt? = nil
        if let status, status & 0x7f == 0 { code = (status >> 8) & 0xff }
        return (code, child.output)
    }

    /// Runs curl (`-sS`, bounded by `--max-time`) with `arguments`; its standard output.
    func curl(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let result = try runChild(["curl", "-sS", "--max-time", "8"] + arguments, sourceLocation: sourceLocation)
        #expect(result.status == 0, "curl \(arguments) exited with \(String(describing: result.status))", sourceLocation: sourceLocation)
        return result.output
    }

    /// Runs the loop until `condition` holds (checked every 2 ms and before starting), at most `timeout`
    /// seconds; whether it held.
    @discardableResult
    func until(_ timeout: Double = 5, _ condition: @escaping () -> Bool) -> Bool {
        if condition() { return true }
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        guard let poll = try? loop.addTimer(every: 0.002, { [unowned self] in
            if condition() || MonotonicClock.now() > deadline { self.loop.stop() }
        }) else { return false }
        try? loop.run(.untilStopped)
        loop.cancelTimer(poll)
        return condition()
    }
}

/// Whether the tools exist (the tests that need one skip without it, saying why).
let httpHasCurl: Bool = WSChild.run(["curl", "--version"], timeout: 10).status == 0
let httpHasH11: Bool = WSChild.run(["python3", "-c", "import h11"], timeout: 20).status == 0

// MARK: - A raw loopback client

/// A client socket in the test's loop that sends bytes as given and keeps every byte it receives.
final class RawHTTPClient {
    let connection: TCPClient<RawCodec>
    private(set) var received: [UInt8] = []
    private(set) var closed = false
    /// When the first byte arrived, and when the close was seen (monotonic nanoseconds, 0: not yet).
    private(set) var firstByteAt: UInt64 = 0
    private(set) var closedAt: UInt64 = 0

    init(_ harness: WSLoop, port: Int) throws {
        connection = try TCPClient<RawCodec>(loop: harness.loop, url: "tcp://127.0.0.1:\(port)")
        connection.onMessage = { [unowned self] _, bytes in
            if self.firstByteAt == 0 { self.firstByteAt = MonotonicClock.now() }
            self.received += bytes.bytes
        }
        connection.onClose = { [unowned self] _ in
            self.closed = true
            self.closedAt = MonotonicClock.now()
        }
        connection.connect()
    }

    func send(_ text: String) { _ = connection.send(ByteBuffer(text)) }
    func send(_ bytes: [UInt8]) { _ = connection.send(ByteBuffer(bytes)) }

    var text: String { String(decoding: received, as: UTF8.self) }
    var responses: [WireResponse] { WireResponse.parseAll(received) }
}

// MARK: - Responses on the wire

/// One response as a client received it (status line, headers, body by Content-Length).
struct WireResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    func headers(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
    var text: String { String(decoding: body, as: UTF8.self) }

    /// Every complete response in `bytes`, in order. A response's body is its Content-Length (none for
    /// 1xx, 204, 304, or when `headOnly`); without a length it runs to the end.
    static func parseAll(_ bytes: [UInt8], headOnly: Bool = false) -> [WireResponse] {
        var responses: [WireResponse] = []
        var index = 0
        let separator: [UInt8] = [13, 10, 13, 10]
        while index < bytes.count {
            guard let end = firstIndex(of: separator, in: bytes, from: index) else { break }
            let head = String(decoding: bytes[index..<end], as: UTF8.self)
            var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
            let statusLine = lines.removeFirst()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { break }
            let headers = lines.compactMap { line -> (name: String, value: String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " \t"))
            }
            var response = WireResponse(status: status, headers: headers, body: [])
            let bodyStart = end + 4
            let noBody = headOnly || status / 100 == 1 || status == 204 || status == 304
            if noBody {
                index = bodyStart
            } else if let length = response.header("Content-Length").flatMap({ Int($0) }) {
                guard bodyStart + length <= bytes.count else { break }
                response.body = Array(bytes[bodyStart..<(bodyStart + length)])
                index = bodyStart + length
            } else {
                response.body = Array(bytes[bodyStart...])
                index = bytes.count
            }
            responses.append(response)
        }
        return responses
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        var index = start
        while index <= bytes.count - needle.count {
            if bytes[index] == needle[0] && Array(bytes[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let skip = Set(set)
        return String(drop { skip.contains($0) }.reversed().drop { skip.contains($0) }.reversed())
    }
}

// MARK: - The test server

/// What the test server saw, for the tests to check afterwards (everything runs on the loop's thread).
final class HTTPServerLog {
    var paths: [String] = []
    var connects = 0
    var closes = 0
    var forms: [MultipartFormData] = []
    var multipartErrors: [String] = []
}

extension WSLoop {
    /// An HTTP server on 127.0.0.1 port 0 with the tests' routes: `/hello`, `/echo` (the body back),
    /// `/upload` (multipart, logged), `/chunked`, `/sse`; then `files` (if any), else 404 `not found`.
    func httpServer(
        files: StaticFiles? = nil,
        uploads: String? = nil,
        log: HTTPServerLog = HTTPServerLog(),
        configure: (TCPServer<HTTPServerCodec>) -> Void = { _ in }
    ) throws -> TCPServer<HTTPServerCodec> {
        try server(HTTPServerCodec.self) { server in
            server.onConnect = { _ in log.connects += 1 }
            server.onClose = { _ in log.closes += 1 }
            server.onMessage = { connection, request in
                log.paths.append(request.path)
                switch request.path {
                case "/hello":
                    connection.send("hello")
                case "/echo":
                    connection.send(.response(HTTPResponse(headers: ["Content-Type": "application/octet-stream"], body: request.body)))
                case "/upload":
                    var options = MultipartOptions()
                    options.temporaryDirectory = uploads
                    do {
                        let form = try request.multipart(options)
                        log.forms.append(form)
                        connection.send(.response(HTTPResponse(body: "files \(form.files.count)")))
                    } catch {
                        log.multipartErrors.append("\(error)")
                        connection.send(.response(HTTPResponse(status: .badRequest, body: "\(error)")))
                    }
                case "/chunked":
                    connection.send(.response(.chunked(headers: ["Content-Type": "text/plain"])))
                    connection.send(.chunk("first part\n"))
                    connection.send(.chunk(HTTPChunk(.bytes(ByteBuffer(wsPattern(70_000))))))
                    connection.send(.chunk("last part\n"))
                    connection.send(.chunk(.end))
                case "/sse":
                    connection.send(.response(.eventStream()))
                    connection.send(.event(ServerSentEvent(event: "tick", id: "1", data: "one")))
                    connection.send(.event(ServerSentEvent(id: "2", data: "two\nlines")))
                    connection.send(.event(ServerSentEvent(comment: "keep-alive")))
                    connection.close()
                default:
                    if let files, files.serve(request, on: connection) { return }
                    connection.send(.response(HTTPResponse(status: .notFound, body: "not found")))
                }
            }
            configure(server)
        }
    }
}
