// The HTTP server codec against real clients over loopback: curl (keep-alive, HTTP/1.0, multipart
// uploads), a raw socket (pipelining, smuggling, oversized heads and bodies, 100-continue) and Python's
// h11 as a strict client that validates our responses' framing. Each test runs the server in its own
// loop; clients run as child processes or as sockets in the same loop.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP with real clients")
struct HTTPRealClientTests {
    // MARK: - curl

    @Test("curl: two URLs in one command reuse one keep-alive connection", .enabled(if: httpHasCurl, "curl is not installed"))
    func curlKeepAlive() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let url = "http://127.0.0.1:\(server.port)/hello"
        let output = try harness.curl(["--write-out", "%{num_connects}\\n", url, url])
        #expect(String(decoding: output, as: UTF8.self) == "hello1\nhello0\n")
        #expect(log.connects == 1)
        #expect(log.paths == ["/hello", "/hello"])
        harness.finish()
    }

    @Test("curl --http1.0: the response, then the server closes; nothing is reused", .enabled(if: httpHasCurl, "curl is not installed"))
    func curlHTTP10() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let url = "http://127.0.0.1:\(server.port)/hello"
        let head = WireResponse.parseAll(try harness.curl(["--http1.0", "--include", url]))
        #expect(head.count == 1)
        #expect(head.first?.status == 200)
        #expect(head.first?.header("Connection") == "close")
        #expect(head.first?.text == "hello")
        let output = try harness.curl(["--http1.0", "--write-out", " %{num_connects}\\n", url, url])
        #expect(String(decoding: output, as: UTF8.self) == "hello 1\nhello 1\n")
        #expect(harness.until { log.closes == 3 })
        #expect(log.connects == 3)
        harness.finish()
    }

    @Test("curl -F: fields and files parsed as multipart, a file over 64 KiB in a temporary file", .enabled(if: httpHasCurl, "curl is not installed"))
    func curlUpload() throws {
        let harness = try WSLoop()
        let directory = try HTTPTempDir()
        defer { directory.remove() }
        directory.makeDirectory("uploads")
        let small = Array("small file, text\nsecond line\n".utf8)
        let big = wsPattern(100 * 1024, seed: 3)
        let smallPath = directory.write("small.txt", small)
        let bigPath = directory.write("big.bin", big)
        let log = HTTPServerLog()
        let server = try harness.httpServer(uploads: directory.path("uploads"), log: log)
        let output = try harness.curl([
            "-F", "title=hello world", "-F", "small=@\(smallPath);type=text/plain", "-F", "big=@\(bigPath)",
            "http://127.0.0.1:\(server.port)/upload",
        ])
        #expect(String(decoding: output, as: UTF8.self) == "files 2")
        #expect(log.multipartErrors.isEmpty)
        let form = try #require(log.forms.first)
        #expect(form.fields["title"] == "hello world")
        let smallFile = try #require(form.file("small"))
        #expect(smallFile.filename == "small.txt")
        #expect(smallFile.contentType == "text/plain")
        #expect(smallFile.size == small.count)
        #expect(smallFile.temporaryPath == nil)
        #expect(try smallFile.contents().bytes == small)
        let bigFile = try #require(form.file("big"))
        #expect(bigFile.filename == "big.bin")
        #expect(bigFile.size == big.count)
        #expect(bigFile.data == nil)
        let temporary = try #require(bigFile.temporaryPath)
        #expect(temporary.hasPrefix(directory.path("uploads") + "/"))
        #expect(wsSame(try bigFile.contents().bytes, big))
        #expect(directory.list("uploads").count == 1)
        form.removeTemporaryFiles()
        #expect(directory.list("uploads").isEmpty)
        harness.finish()
    }

    // MARK: - Raw socket

    @Test("16 pipelined requests in one write are answered in order, each complete")
    func pipelining() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let client = try RawHTTPClient(harness, port: server.port)
        var batch = ""
        for index in 0..<16 {
            if index % 4 == 3 {
                batch += "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
            } else {
                let body = "request \(index) " + String(repeating: "x", count: index * 100)
                batch += "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            }
        }
        client.send(batch)
        #expect(harness.until { client.responses.count >= 16 })
        let responses = client.responses
        #expect(responses.count == 16)
        for (index, response) in responses.enumerated() {
            #expect(response.status == 200)
            #expect(response.header("Connection") == "keep-alive")
            if index % 4 == 3 {
                #expect(response.text == "hello")
            } else {
                #expect(response.text == "request \(index) " + String(repeating: "x", count: index * 100))
            }
        }
        #expect(!client.closed)
        #expect(log.connects == 1)
        client.connection.close()
        harness.finish()
    }

    @Test("Content-Length with Transfer-Encoding is 400 and a close; the smuggled request is never answered")
    func smuggling() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let client = try RawHTTPClient(harness, port: server.port)
        client.send(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        #expect(harness.until { client.closed })
        let responses = client.responses
        #expect(responses.count == 1)
        #expect(responses.first?.status == 400)
        #expect(responses.first?.header("Connection") == "close")
        #expect(!client.text.contains("smuggled"))
        #expect(log.paths.isEmpty)
        #expect(harness.transport.statistics.packetErr >= 1)
        harness.finish()
    }

    @Test("a request head over 16 KiB is 431 and a close")
    func oversizedHead() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let client = try RawHTTPClient(harness, port: server.port)
        client.send("GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 17_000) + "\r\n\r\n")
        #expect(harness.until { client.closed })
        #expect(client.responses.map(\.status) == [431])
        #expect(log.paths.isEmpty)
        harness.finish()
    }

    @Test("a body over maxPackageSize is 413 and a close; a smaller one before it is served")
    func oversizedBody() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log) { $0.maxPackageSize = 1024 }
        let client = try RawHTTPClient(harness, port: server.port)
        let fits = String(repeating: "f", count: 500)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\n\r\n\(fits)")
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
        #expect(harness.until { client.closed })
        let responses = client.responses
        #expect(responses.map(\.status) == [200, 413])
        #expect(responses.first?.text == fits)
        #expect(responses.last?.header("Connection") == "close")
        #expect(log.paths == ["/echo"])
        harness.finish()
    }

    @Test("Expect: 100-continue gets 100 Continue before the body is sent, then the answer")
    func expectContinue() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let client = try RawHTTPClient(harness, port: server.port)
        client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
        #expect(harness.until { client.text.contains("\r\n\r\n") })
        #expect(client.text == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(log.paths.isEmpty)
        client.send("hello world")
        #expect(harness.until { client.responses.count >= 2 })
        let responses = client.responses
        #expect(responses.map(\.status) == [100, 200])
        #expect(responses.last?.text == "hello world")
        client.connection.close()
        harness.finish()
    }

    // MARK: - h11

    /// Sends requests with h11 and parses the answers with h11's own (strict) parser; prints `OK` last.
    static let h11Script = #"""
        import socket, sys
        sys.stderr = sys.stdout
        import h11
        port = int(sys.argv[1])
        def fail(message):
            print("FAIL", message); sys.exit(1)
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn = h11.Connection(our_role=h11.CLIENT)
        def request(method, target, body=b""):
            headers = [("Host", "127.0.0.1")]
            if body:
                headers.append(("Content-Length", str(len(body))))
            out = conn.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                out += conn.send(h11.Data(data=body))
            out += conn.send(h11.EndOfMessage())
            sock.sendall(out)
            response, data, trailers = None, b"", []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(sock.recv(65536))
                elif isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    data += event.data
                elif isinstance(event, h11.EndOfMessage):
                    trailers = event.headers
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    fail("closed before the end of the response to %s %s" % (method, target))
                elif isinstance(event, h11.InformationalResponse):
                    fail("unexpected informational response")
            headers = {name.decode().lower(): value.decode() for name, value in response.headers}
            return response, headers, data
        def next_cycle():
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                fail("states after a response: %s %s" % (conn.our_state, conn.their_state))
            conn.start_next_cycle()
        try:
            response, headers, data = request("GET", "/hello")
            if response.status_code != 200 or data != b"hello": fail("hello: %r %r" % (response, data))
            if response.http_version != b"1.1": fail("version %r" % response.http_version)
            if headers.get("content-length") != "5": fail("content-length %r" % headers)
            if headers.get("content-type") != "text/html;charset=utf-8": fail("content-type %r" % headers)
            next_cycle()
            body = bytes(range(256)) * 40
            response, headers, data = request("POST", "/echo", body)
            if response.status_code != 200 or data != body: fail("echo: %r, %d bytes" % (response, len(data)))
            next_cycle()
            response, headers, data = request("HEAD", "/hello")
            if response.status_code != 200 or data != b"" or headers.get("content-length") != "5":
                fail("head: %r %r" % (response, data))
            next_cycle()
            response, headers, data = request("GET", "/chunked")
            period = bytes((i * 7) % 251 for i in range(251))
            pattern = (period * (70000 // 251 + 1))[:70000]
            if headers.get("transfer-encoding") != "chunked" or "content-length" in headers:
                fail("chunked headers %r" % headers)
            if data != b"first part\n" + pattern + b"last part\n": fail("chunked body: %d bytes" % len(data))
            next_cycle()
            print("KEEPALIVE 4 requests on one connection")
            response, headers, data = request("GET", "/sse")
            if response.status_code != 200 or headers.get("content-type") != "text/event-stream":
                fail("sse head %r" % headers)
            expected = b"event: tick\nid: 1\ndata: one\n\nid: 2\ndata: two\ndata: lines\n\n: keep-alive\n\n"
            if data != expected: fail("sse body %r" % data)
            print("OK")
        except h11.ProtocolError as error:
            fail("h11 rejected our response: %r" % error)
        """#

    @Test("h11 validates our responses: framing, keep-alive over several requests, HEAD, chunked, server-sent events", .enabled(if: httpHasH11, "python3 with h11 is not available (pip install h11)"))
    func h11StrictClient() throws {
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(log: log)
        let result = try harness.runChild(["python3", "-c", Self.h11Script, String(server.port)])
        let output = String(decoding: result.output, as: UTF8.self)
        #expect(result.status == 0, "\(output)")
        #expect(output.hasSuffix("OK\n"), "\(output)")
        #expect(output.contains("KEEPALIVE"))
        #expect(log.connects == 1)
        #expect(log.paths == ["/hello", "/echo", "/hello", "/chunked", "/sse"])
        harness.finish()
    }
}
