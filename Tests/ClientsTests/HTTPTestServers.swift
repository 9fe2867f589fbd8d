import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A Python `http.server` (threaded, HTTP/1.1 keep-alive) that answers each path with one behaviour the
/// HTTP client must handle: framing kinds, redirects, compression, stalls and broken responses. Every
/// response says which connection it came on (`X-Connection`) and how many requests that connection
/// has carried (`X-Requests`), so keep-alive reuse is counted on the server side.
final class PythonHTTPServer {
    let port: Int
    let pid: pid_t
    let directory: String
    let scheme: String

    static var isAvailable: Bool { findProgram("python3") != nil }

    /// With `tls` (certificate, key): HTTPS with that certificate; with a `clientCA` too, a client
    /// certificate signed by it is required.
    init(tls: (certificate: String, key: String)? = nil, clientCA: String? = nil) throws {
        directory = try TestFiles.makeTemporaryDirectory("wm-http-client")
        port = try freeLoopbackPort()
        try TestFiles.write(Self.script, to: "\(directory)/server.py")
        let tlsArguments = tls.map { [$0.certificate, $0.key, clientCA ?? ""] } ?? []
        scheme = tls == nil ? "http" : "https"
        pid = try ChildProcess.spawn(findProgram("python3")!, ["\(directory)/server.py", String(port)] + tlsArguments,
                                     output: .file("\(directory)/server.log", append: false))
        let port = self.port
        guard WaitUntil.holds(within: 10, { isListening(port) }) else {
            ChildProcess.killAndReap(pid)
            throw TestError("python http.server did not start: \(TestFiles.readText("\(directory)/server.log") ?? "")")
        }
    }

    func url(_ path: String, host: String = "127.0.0.1") -> String { "\(scheme)://\(host):\(port)\(path)" }

    func stop() {
        ChildProcess.killAndReap(pid)
        TestFiles.removeTree(directory)
    }

    static let script = #"""
        import gzip, itertools, socket, ssl, sys, threading, time, zlib
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlparse, parse_qs

        connections = itertools.count(1)
        big_sent = [0]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass

            def setup(self):
                super().setup()
                self.connection_id = next(connections)
                self.served = 0

            def raw(self, data):
                self.wfile.write(data)
                self.wfile.flush()

            def reply(self, status=200, body=b"", headers=()):
                self.served += 1
                self.send_response(status)
                self.send_header("X-Connection", str(self.connection_id))
                self.send_header("X-Requests", str(self.served))
                for name, value in headers: self.send_header(name, value)
                if status not in (204, 304): self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304): self.wfile.write(body)

            def do_HEAD(self): self.do_GET()
            def do_POST(self): self.do_GET()
            def do_PUT(self): self.do_GET()

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        body += self.rfile.read(size)
                        self.rfile.readline()
                        if size == 0: break
                path = url.path
                if path == "/hello":
                    self.reply(body=b"hello")
                elif path == "/echo":
                    text = "%s %s\n%s\n%s\n" % (self.command, self.path, self.headers.get("Content-Type"), self.headers.get("X-Custom"))
                    self.reply(body=text.encode() + body)
                elif path == "/chunked":
                    self.served += 1
                    self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n")
                elif path == "/close":
                    self.raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close")
                    self.close_connection = True
                elif path == "/interim":
                    self.raw(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                elif path == "/204":
                    self.reply(204)
                elif path == "/304":
                    self.reply(304, headers=[("ETag", '"x"')])
                elif path == "/redirect":
                    self.reply(int(query["code"][0]), headers=[("Location", query["to"][0])])
                elif path == "/bigredirect":
                    self.raw(b"HTTP/1.1 302 Found\r\nLocation: /hello\r\nContent-Length: 4096\r\n\r\n" + b"r" * 4096)
                elif path == "/loop":
                    self.reply(302, headers=[("Location", "/loop")])
                elif path == "/gzip":
                    self.reply(body=gzip.compress(b"compressed " * 100), headers=[("Content-Encoding", "gzip")])
                elif path == "/deflate":
                    self.reply(body=zlib.compress(b"deflated " * 100), headers=[("Content-Encoding", "deflate")])
                elif path == "/slow":
                    time.sleep(float(query.get("s", ["0.3"])[0]))
                    self.reply(body=b"slow")
                elif path == "/stall":
                    self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                    time.sleep(3)
                    self.close_connection = True
                elif path == "/bighead":
                    self.raw(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100000 + b"\r\nContent-Length: 0\r\n\r\n")
                elif path == "/badchunk":
                    self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
                elif path == "/hugechunk":
                    self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello\r\n")
                elif path == "/smuggle":
                    self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                elif path == "/longer":
                    self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
                elif path == "/big":
                    # The body in 64 KiB writes; /sent tells how far the writes got (a slow reader
                    # stops them once the socket buffers are full).
                    size = int(query["mb"][0]) << 20
                    self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                    piece = b"x" * 65536
                    big_sent[0] = 0
                    for _ in range(size // 65536):
                        self.wfile.write(piece)
                        big_sent[0] += len(piece)
                    self.wfile.flush()
                elif path == "/sent":
                    self.reply(body=str(big_sent[0]).encode())
                elif path == "/upload":
                    text = "%s %s %d\n" % (self.headers.get("Transfer-Encoding"), self.headers.get("Content-Length"), len(body))
                    self.reply(body=text.encode() + body[:64])
                elif path == "/client-cert":
                    peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
                    name = dict(x[0] for x in peer["subject"])["commonName"] if peer else "none"
                    self.reply(body=name.encode())
                elif path == "/garbage":
                    self.raw(b"SSH-2.0-OpenSSH\r\n\r\n")
                    self.close_connection = True
                elif path == "/reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                else:
                    self.reply(404, body=b"no such path")

        server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
        server.daemon_threads = True
        if len(sys.argv) > 2:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            context.set_alpn_protocols(["http/1.1"])
            if sys.argv[4]:
                context.load_verify_locations(sys.argv[4])
                context.verify_mode = ssl.CERT_REQUIRED
            server.socket = context.wrap_socket(server.socket, server_side=True)
        server.serve_forever()
        """#
}

/// nginx on a loopback port serving one small file with keep-alive, reporting per response which
/// connection carried it and how many requests that connection has served.
final class NginxServer {
    let port: Int
    let pid: pid_t
    let directory: String

    static var binary: String? { findProgram("nginx") }

    let scheme: String

    /// With `tls` (certificate, key): HTTPS on the port.
    init(tls: (certificate: String, key: String)? = nil) throws {
        guard let binary = Self.binary else { throw TestError("nginx is not installed") }
        scheme = tls == nil ? "http" : "https"
        let secure = tls.map { "ssl;\n                    ssl_certificate \($0.certificate);\n                    ssl_certificate_key \($0.key);" } ?? ";"
        directory = try TestFiles.makeTemporaryDirectory("wm-nginx")
        port = try freeLoopbackPort()
        try TestFiles.write(String(repeating: "nginx body ", count: 100), to: "\(directory)/index.html")
        let configuration = """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path \(directory);
                proxy_temp_path \(directory);
                fastcgi_temp_path \(directory);
                uwsgi_temp_path \(directory);
                scgi_temp_path \(directory);
                keepalive_requests 10000;
                server {
                    listen 127.0.0.1:\(port) \(secure)
                    root \(directory);
                    location / {
                        add_header X-Connection $connection;
                        add_header X-Requests $connection_requests;
                    }
                }
            }
            """
        try TestFiles.write(configuration, to: "\(directory)/nginx.conf")
        pid = try ChildProcess.spawn(binary, ["-c", "\(directory)/nginx.conf", "-p", directory, "-e", "\(directory)/error.log"],
                                     output: .file("\(directory)/out.log", append: false))
        let port = self.port
        guard WaitUntil.holds(within: 10, { isListening(port) }) else {
            ChildProcess.killAndReap(pid)
            throw TestError("nginx did not start: \(TestFiles.readText("\(directory)/error.log") ?? "")")
        }
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)/index.html" }

    func stop() {
        ChildProcess.killAndReap(pid)
        TestFiles.removeTree(directory)
    }
}
