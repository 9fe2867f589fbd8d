import Testing
import WorkermanEventLoop
import WorkermanHTTPClient
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@Suite("HTTP client against our own HTTP server (same loop)")
struct HTTPClientOwnServerTests {
    @Test("keep-alive reuse counted by our server; bodies, multipart and chunked responses")
    func ownServer() throws {
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        var connects = 0
        var uploads: [String] = []
        let server = try fixture.harness.startServer(HTTPServerCodec.self) { server in
            server.onConnect = { _ in connects += 1 }
            server.onMessage = { connection, request in
                switch request.path {
                case "/echo":
                    connection.send(.response(HTTPResponse(headers: ["Content-Type": "application/octet-stream"], body: request.body)))
                case "/upload":
                    let form = try request.multipart()
                    uploads = form.files.map(\.fieldName) + form.fields.map(\.name)
                    connection.send("ok")
                case "/chunked":
                    connection.send(.response(.chunked(headers: ["Content-Type": "text/plain"])))
                    connection.send(.chunk("first, "))
                    connection.send(.chunk("second"))
                    connection.send(.chunk(.end))
                default:
                    connection.send("hello")
                }
            }
        }
        let base = "http://127.0.0.1:\(server.listener!.address.port)"
        for _ in 0..<20 { #expect(try fixture.get(base + "/").get().text == "hello") }
        #expect(connects == 1)
        let body = try fixture.fetch { fixture.client.post(base + "/echo", body: .bytes(ByteBuffer([1, 2, 3])), $0) }.get()
        #expect(body.body.bytes == [1, 2, 3])
        let parts = [HTTPMultipartPart(name: "note", content: ByteBuffer("hi")),
                     HTTPMultipartPart(name: "file", filename: "f.bin", contentType: "application/octet-stream", content: ByteBuffer([0, 255]))]
        #expect(try fixture.fetch { fixture.client.post(base + "/upload", body: .multipart(parts), $0) }.get().text == "ok")
        #expect(Set(uploads) == ["note", "file"])
        #expect(try fixture.get(base + "/chunked").get().text == "first, second")
        #expect(connects == 1)
    }
}
