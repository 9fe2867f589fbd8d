import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP proxy in Python: absolute-form requests are forwarded (one upstream connection each),
/// `CONNECT host:port` opens a tunnel (502 when the origin cannot be reached). With `credentials`
/// (`user:password`) it answers 407 to anything without the matching `Proxy-Authorization`. Every
/// request line it served is written to `log`, so a test sees what the client asked of it.
final class PythonHTTPProxy {
    let port: Int
    let pid: pid_t
    let directory: String

    init(credentials: String = "") throws {
        directory = try TestFiles.makeTemporaryDirectory("wm-http-proxy")
        port = try freeLoopbackPort()
        try TestFiles.write(Self.script, to: "\(directory)/proxy.py")
        pid = try ChildProcess.spawn(findProgram("python3")!, ["\(directory)/proxy.py", String(port), credentials, "\(directory)/requests.log"],
                                     output: .file("\(directory)/proxy.out", append: false))
        let port = self.port
        guard WaitUntil.holds(within: 10, { isListening(port) }) else {
            ChildProcess.killAndReap(pid)
            throw TestError("the python proxy did not start: \(TestFiles.readText("\(directory)/proxy.out") ?? "")")
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The request lines served so far (`GET http://…`, `CONNECT host:port`).
    var requests: [String] { (TestFiles.readText("\(directory)/requests.log") ?? "").split(separator: "\n").map(String.init) }

    func stop() {
        ChildProcess.killAndReap(pid)
        TestFiles.removeTree(directory)
    }

    static let script = #"""
        import base64, socket, socketserver, sys, threading
        from urllib.parse import urlsplit

        credentials, log_path = sys.argv[2], sys.argv[3]
        lock = threading.Lock()

        def record(line):
            with lock, open(log_path, "a") as log:
                log.write(line + "\n")

        def pump(source, target):
            try:
                while True:
                    data = source.recv(65536)
                    if not data: break
                    target.sendall(data)
            except OSError:
                pass
            for s in (source, target):
                try: s.shutdown(socket.SHUT_RDWR)
                except OSError: pass

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                client = self.request
                reader = client.makefile("rb")
                while True:
                    line = reader.readline()
                    if not line: return
                    method, target, _ = line.decode("latin-1").split()
                    headers = []
                    while True:
                        header = reader.readline()
                        if header in (b"\r\n", b"\n", b""): break
                        headers.append(header)
                    fields = {h.split(b":", 1)[0].strip().lower(): h.split(b":", 1)[1].strip() for h in headers}
                    if credentials:
                        expected = b"Basic " + base64.b64encode(credentials.encode())
                        if fields.get(b"proxy-authorization") != expected:
                            record("407 " + target)
                            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                            continue
                    if method == "CONNECT":
                        host, port = target.rsplit(":", 1)
                        try:
                            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
                        except OSError:
                            record("502 " + target)
                            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                            continue
                        record("CONNECT " + target)
                        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
                        pump(client, upstream)
                        return
                    record(method + " " + target)
                    url = urlsplit(target)
                    length = int(fields.get(b"content-length", b"0"))
                    body = reader.read(length) if length else b""
                    upstream = socket.create_connection((url.hostname, url.port or 80), timeout=5)
                    path = (url.path or "/") + ("?" + url.query if url.query else "")
                    kept = [h for h in headers if not h.lower().startswith((b"proxy-", b"connection"))]
                    upstream.sendall(("%s %s HTTP/1.1\r\n" % (method, path)).encode() + b"".join(kept) + b"Connection: close\r\n\r\n" + body)
                    answer = b""
                    while True:
                        data = upstream.recv(65536)
                        if not data: break
                        answer += data
                    upstream.close()
                    client.sendall(answer)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """#
}
