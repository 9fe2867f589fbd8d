// StaticFiles served to curl over loopback: ranges (206, 416), ETag and 304, HEAD, a 1 MiB file
// byte-identical, a missing file left to the handler (404), traversal refused (403), a symlink out of the
// root (404), a directory without its slash (301); and a 64 MiB file streamed to a slow reader with the
// connection's send queue bounded by the stream window.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("StaticFiles over loopback")
struct StaticFilesTests {
    /// A temporary directory with `root/` (small.txt, file.bin of 1 MiB, docs/index.html, a symlink
    /// `link.txt` to `../outside.txt`) and `outside.txt` next to the root.
    final class Site {
        let directory: HTTPTempDir
        let files: StaticFiles
        let big = wsPattern(1 << 20, seed: 5)
        let small = Array("0123456789abcdefghijklmnopqrstuvwxyz\n".utf8)

        init() throws {
            directory = try HTTPTempDir()
            directory.makeDirectory("root")
            directory.makeDirectory("root/docs")
            directory.write("root/small.txt", small)
            directory.write("root/file.bin", big)
            directory.write("root/docs/index.html", Array("<p>docs</p>".utf8))
            directory.write("outside.txt", Array("secret".utf8))
            symlink("../outside.txt", directory.path("root/link.txt"))
            files = try StaticFiles(root: directory.path("root"))
        }

        func remove() { directory.remove() }
    }

    static let needsCurl = Testing.ConditionTrait.enabled(if: httpHasCurl, "curl is not installed")

    @Test("-r ranges: 206 with Content-Range, a suffix range, 416 out of range", needsCurl)
    func ranges() throws {
        let site = try Site()
        defer { site.remove() }
        let harness = try WSLoop()
        let server = try harness.httpServer(files: site.files)
        let url = "http://127.0.0.1:\(server.port)/file.bin"
        let size = site.big.count

        let first = WireResponse.parseAll(try harness.curl(["--include", "-r", "0-99", url]))
        #expect(first.map(\.status) == [206])
        #expect(first.first?.header("Content-Range") == "bytes 0-99/\(size)")
        #expect(first.first?.header("Content-Length") == "100")
        #expect(first.first?.body == Array(site.big[0..<100]))

        let middle = WireResponse.parseAll(try harness.curl(["--include", "-r", "70000-200000", url]))
        #expect(middle.first?.status == 206)
        #expect(middle.first?.header("Content-Range") == "bytes 70000-200000/\(size)")
        #expect(wsSame(middle.first?.body, Array(site.big[70000...200000])))

        let suffix = WireResponse.parseAll(try harness.curl(["--include", "-r", "-10", url]))
        #expect(suffix.first?.status == 206)
        #expect(suffix.first?.header("Content-Range") == "bytes \(size - 10)-\(size - 1)/\(size)")
        #expect(suffix.first?.body == Array(site.big.suffix(10)))

        let outside = WireResponse.parseAll(try harness.curl(["--include", "-r", "\(size + 10)-\(size + 20)", url]))
        #expect(outside.map(\.status) == [416])
        #expect(outside.first?.header("Content-Range") == "bytes */\(size)")
        harness.finish()
    }

    @Test("HEAD has the length and no body; If-None-Match with the ETag is 304, another tag 200", needsCurl)
    func conditionalAndHead() throws {
        let site = try Site()
        defer { site.remove() }
        let harness = try WSLoop()
        let server = try harness.httpServer(files: site.files)
        let url = "http://127.0.0.1:\(server.port)/small.txt"

        let headBytes = try harness.curl(["--head", url])
        let head = WireResponse.parseAll(headBytes, headOnly: true)
        #expect(head.map(\.status) == [200])
        #expect(String(decoding: headBytes, as: UTF8.self).hasSuffix("\r\n\r\n"), "HEAD answered with a body")
        #expect(head.first?.header("Content-Length") == String(site.small.count))
        #expect(head.first?.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(head.first?.header("Accept-Ranges") == "bytes")
        #expect(head.first?.header("Last-Modified") != nil)
        let etag = try #require(head.first?.header("ETag"))

        let cached = WireResponse.parseAll(try harness.curl(["--include", "-H", "If-None-Match: \(etag)", url]))
        #expect(cached.map(\.status) == [304])
        #expect(cached.first?.header("ETag") == etag)
        #expect(cached.first?.body == [])

        let listed = WireResponse.parseAll(try harness.curl(["--include", "-H", "If-None-Match: \"zz\", \(etag)", url]))
        #expect(listed.map(\.status) == [304])

        let changed = WireResponse.parseAll(try harness.curl(["--include", "-H", "If-None-Match: \"other\"", url]))
        #expect(changed.map(\.status) == [200])
        #expect(changed.first?.body == site.small)
        harness.finish()
    }

    @Test("a 1 MiB file arrives byte-identical", needsCurl)
    func wholeFile() throws {
        let site = try Site()
        defer { site.remove() }
        let harness = try WSLoop()
        let server = try harness.httpServer(files: site.files)
        let target = site.directory.path("downloaded.bin")
        let output = try harness.curl([
            "--output", target, "--write-out", "%{http_code} %{size_download}", "http://127.0.0.1:\(server.port)/file.bin",
        ])
        #expect(String(decoding: output, as: UTF8.self) == "200 \(site.big.count)")
        #expect(wsSame(readWholeFile(target), site.big))
        harness.finish()
    }

    @Test("missing → the handler's 404; .. and %2e%2e → 403; a symlink out of the root → 404; a directory → 301 to its slash", needsCurl)
    func pathsAndRedirects() throws {
        let site = try Site()
        defer { site.remove() }
        let harness = try WSLoop()
        let log = HTTPServerLog()
        let server = try harness.httpServer(files: site.files, log: log)
        let base = "http://127.0.0.1:\(server.port)"
        func status(_ path: String) throws -> String {
            let output = try harness.curl([
                "--path-as-is", "--output", "/dev/null", "--write-out", "%{http_code} %{redirect_url}", base + path,
            ])
            return String(decoding: output, as: UTF8.self)
        }
        #expect(try status("/missing.txt") == "404 ")
        #expect(try status("/../outside.txt") == "403 ")
        #expect(try status("/%2e%2e/outside.txt") == "403 ")
        #expect(try status("/docs/%2E%2e/%2e%2e/outside.txt") == "403 ")
        #expect(try status("/link.txt") == "404 ")
        #expect(try status("/docs") == "301 \(base)/docs/")
        #expect(try status("/docs?x=1") == "301 \(base)/docs/?x=1")
        let index = try harness.curl([base + "/docs/"])
        #expect(String(decoding: index, as: UTF8.self) == "<p>docs</p>")
        let notFound = try harness.curl([base + "/link.txt"])
        #expect(String(decoding: notFound, as: UTF8.self) == "not found")
        harness.finish()
    }

    @Test("a 64 MiB file to a slow reader: the send queue stays within the stream window, the file arrives whole")
    func slowReaderMemory() throws {
        let directory = try HTTPTempDir()
        defer { directory.remove() }
        directory.makeDirectory("root")
        let size = 64 << 20
        let fd = open(directory.path("root/huge.bin"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        #expect(ftruncate(fd, off_t(size)) == 0)
        close(fd)
        let files = try StaticFiles(root: directory.path("root"))
        let harness = try WSLoop()
        let server = try harness.httpServer(files: files)

        // The client: keeps the head, counts the body, checks it is all zeros (the sparse file), and reads
        // slowly: after each read it pauses, and a timer resumes it every 2 ms (nothing at all for the
        // first 200 ms, so the kernel's buffers fill and the server must wait for drains).
        let client = try TCPClient<RawCodec>(loop: harness.loop, url: "tcp://127.0.0.1:\(server.port)")
        var head: [UInt8] = []
        var headDone = false
        var bodyCount = 0
        var nonZero = false
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        func countZeros(_ raw: UnsafeRawBufferPointer) {
            var offset = 0
            while offset < raw.count {
                let count = Swift.min(zeros.count, raw.count - offset)
                if zeros.withUnsafeBytes({ memcmp(raw.baseAddress! + offset, $0.baseAddress!, count) }) != 0 { nonZero = true }
                offset += count
            }
            bodyCount += raw.count
        }
        client.onMessage = { connection, buffer in
            connection.pauseReceiving()
            if headDone {
                buffer.withReadableBytes { countZeros($0) }
                return
            }
            head += buffer.bytes
            guard let end = String(decoding: head, as: UTF8.self).firstRange(of: "\r\n\r\n") else { return }
            let headCount = String(decoding: head, as: UTF8.self)[..<end.upperBound].utf8.count
            Array(head[headCount...]).withUnsafeBytes { countZeros($0) }
            head = Array(head[0..<headCount])
            headDone = true
        }
        client.send(ByteBuffer("GET /huge.bin HTTP/1.1\r\nHost: a\r\n\r\n"))
        client.connect()
        client.pauseReceiving()
        let started = MonotonicClock.now()
        var maxQueued = 0
        let pacer = try harness.loop.addTimer(every: 0.002) {
            for connection in server.connections.values { maxQueued = Swift.max(maxQueued, connection.sendBufferQueueSize) }
            if MonotonicClock.now() - started > 200_000_000 { client.resumeReceiving() }
        }
        #expect(harness.until(15) { bodyCount >= size })
        harness.loop.cancelTimer(pacer)
        let headText = String(decoding: head, as: UTF8.self)
        #expect(headText.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(headText.contains("Content-Length: \(size)\r\n"))
        #expect(bodyCount == size)
        #expect(!nonZero)
        #expect(maxQueued >= files.streamWindow, "the slow reader never held the stream back (\(maxQueued) bytes queued at most)")
        #expect(maxQueued <= files.streamWindow + 64 * 1024 + 1024, "send queue reached \(maxQueued) bytes")
        client.close()
        harness.finish()
    }
}
