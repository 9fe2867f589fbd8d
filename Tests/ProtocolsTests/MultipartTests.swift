import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
    import Glibc
#endif

@Suite("HTTPRequest: multipart/form-data")
struct MultipartTests {
    private func request(
        boundary: String = "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        parts: [String],
        epilogue: String = "--\r\n"
    )
        -> HTTPRequest
    {
        var body = "preamble to ignore\r\n"
        for part in parts { body += "--\(boundary)\r\n\(part)\r\n" }
        body += "--\(boundary)\(epilogue)"
        return HTTPRequest(
            method: .post,
            target: "/upload",
            headers: ["Host": "a", "Content-Type": "multipart/form-data; boundary=\"\(boundary)\""],
            body: ByteBuffer(body)
        )
    }

    @Test("fields and small files, in order, with names, types and sizes")
    func fieldsAndFiles() throws {
        let request = request(parts: [
            "Content-Disposition: form-data; name=\"title\"\r\n\r\nHoliday",
            "Content-Disposition: form-data; name=\"note\"\r\n\r\nline 1\r\nline 2",
            "Content-Disposition: form-data; name=\"photo\"; filename=\"C:\\\\pics\\\\beach.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEGDATA",
            "Content-Disposition: form-data; name=\"doc\"; filename=\"a \\\"quoted\\\" name.txt\"\r\n\r\n",
        ])
        #expect(request.multipartBoundary == "----WebKitFormBoundary7MA4YWxkTrZu0gW")
        let form = try request.multipart()
        defer { form.removeTemporaryFiles() }
        #expect(form.fields["title"] == "Holiday")
        #expect(form.fields["note"] == "line 1\r\nline 2")
        #expect(form.files.count == 2)
        let photo = try #require(form.file("photo"))
        #expect(photo.filename == "beach.jpg")
        #expect(photo.contentType == "image/jpeg")
        #expect(photo.size == 8)
        #expect(photo.data == ByteBuffer("JPEGDATA"))
        #expect(photo.temporaryPath == nil)
        let document = try #require(form.file("doc"))
        #expect(document.filename == "a \"quoted\" name.txt")
        #expect(document.contentType == "application/octet-stream")
        #expect(document.size == 0)
    }

    @Test("files over the threshold go to a temporary file that can be read back and removed")
    func largeFileToDisk() throws {
        let content = String(repeating: "0123456789", count: 1000)
        let request = request(parts: [
            "Content-Disposition: form-data; name=\"big\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\(content)"
        ])
        var options = MultipartOptions()
        options.memoryThreshold = 1024
        let form = try request.multipart(options)
        let file = try #require(form.file("big"))
        #expect(file.size == 10_000)
        #expect(file.data == nil)
        let path = try #require(file.temporaryPath)
        #expect(try file.contents() == ByteBuffer(content))
        #expect(access(path, F_OK) == 0)
        form.removeTemporaryFiles()
        #expect(access(path, F_OK) != 0)
    }

    @Test("an empty file input (filename=\"\" and no content) is no file")
    func emptyFileInput() throws {
        let form = try request(parts: [
            "Content-Disposition: form-data; name=\"f\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ]).multipart()
        #expect(form.files.isEmpty)
    }

    @Test("a body whose content contains the boundary text without CRLF before it is data")
    func boundaryLookalike() throws {
        let form = try request(
            boundary: "XyZ",
            parts: ["Content-Disposition: form-data; name=\"t\"\r\n\r\nabc--XyZ def"]
        ).multipart()
        #expect(form.fields["t"] == "abc--XyZ def")
    }

    @Test(
        "malformed bodies throw a MultipartError",
        arguments: [
            ("no closing delimiter", "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue"),
            ("no boundary at all", "just text"),
            ("no Content-Disposition", "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--"),
            ("unterminated part header", "--B\r\nContent-Disposition: form-data; name=\"a\""),
            ("garbage after delimiter", "--Bxx\r\n\r\n--B--"),
        ]
    )
    func malformed(name: String, body: String) {
        let request = HTTPRequest(
            method: .post,
            headers: ["Host": "a", "Content-Type": "multipart/form-data; boundary=B"],
            body: ByteBuffer(body)
        )
        #expect(throws: MultipartError.self) { try request.multipart() }
    }

    @Test("too many parts are refused")
    func tooManyParts() {
        let parts = Array(repeating: "Content-Disposition: form-data; name=\"a\"\r\n\r\n1", count: 5)
        var options = MultipartOptions()
        options.maxParts = 4
        #expect(throws: MultipartError("more than 4 parts")) { try request(parts: parts).multipart(options) }
    }

    @Test("not multipart: a clear error")
    func notMultipart() {
        let request = HTTPRequest(method: .post, headers: ["Host": "a", "Content-Type": "text/plain"], body: "x")
        #expect(request.multipartBoundary == nil)
        #expect(throws: MultipartError.self) { try request.multipart() }
    }

    @Test("a multipart request arriving over the wire, in every split")
    func overTheWire() throws {
        let body =
            "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
        let wire =
            "POST /u HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let run = try httpVerifier().verify(bytes(wire))
        let form = try #require(run.messages.first).multipart()
        #expect(form.file("f")?.data == ByteBuffer("hello"))
    }
}
