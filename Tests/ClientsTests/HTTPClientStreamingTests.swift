import Testing
import WorkermanEventLoop
import WorkermanHTTPClient
import WorkermanTestSupport
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// Whether this test binary was built with AddressSanitizer or ThreadSanitizer (their runtimes are linked in).
private let runsUnderSanitizer = dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil

/// Resident memory of this process in bytes (from /proc/self/statm).
private func residentBytes() -> Int {
    let fields = (TestFiles.readText("/proc/self/statm") ?? "").split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

extension HTTPClientFixture {
    /// Runs `body` as a task on the fixture's loop and waits (bounded) for its result.
    func await<T>(_ what: String, seconds: Double = 20, _ body: @escaping (HTTPClient) async throws -> T) throws -> Result<T, any Error> {
        var result: Result<T, any Error>?
        let client = self.client
        harness.loop.nextTick {
            self.harness.loop.task { _ in
                do { result = .success(try await body(client)) } catch { result = .failure(error) }
            }
        }
        try wait(what, seconds: seconds) { result != nil }
        return result!
    }
}

@Suite("HTTP client streaming and async forms (Python's http.server)",
       .enabled(if: PythonHTTPServer.isAvailable, "python3 is not installed"))
struct HTTPClientStreamingTests {
    @Test("a 50 MiB response streams piece by piece with bounded memory")
    func boundedMemory() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.requestTimeout = 60
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        let before = residentBytes()
        var peak = before
        var total = 0
        var largest = 0
        var head: HTTPClientResponse?
        let result = try fixture.fetch { completion in
            fixture.client.stream(
                try! HTTPClientRequest(url: server.url("/big?mb=50")),
                onHead: { head = $0 },
                onBody: { piece, more in
                    total += piece.readableBytes
                    largest = max(largest, piece.readableBytes)
                    if total % (4 << 20) < piece.readableBytes { peak = max(peak, residentBytes()) }
                    more()
                },
                completion)
        }
        let response = try result.get()
        #expect(head?.status == 200 && response.status == 200 && response.body.readableBytes == 0)
        #expect(total == 50 << 20)
        #expect(largest <= 256 * 1024)
        // Buffered whole, the body alone would add 50 MiB. Not under a sanitizer: AddressSanitizer keeps
        // freed memory in quarantine (256 MiB by default), so resident memory says nothing there.
        if !runsUnderSanitizer {
            #expect(peak - before < 30 << 20, "resident memory grew by \(peak - before) bytes")
        }
    }

    @Test("a redirect met by a streamed request is buffered under the buffered-body limit, not unbounded")
    func streamedRequestsRedirectBodyIsBounded() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.limits.maxBodySize = 1024
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        let result = try fixture.fetch { completion in
            fixture.client.stream(
                try! HTTPClientRequest(url: server.url("/bigredirect")), onHead: { _ in }, onBody: { _, more in more() },
                completion)
        }
        guard case .failure(let error) = result else { Issue.record("followed a redirect with an oversized body"); return }
        #expect(error.code == .tooLarge, "\(error)")
    }

    @Test("a consumer that stops asking stops the reads: the server's writes stall, then resume")
    func slowConsumerPausesTheServer() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.requestTimeout = 60
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        var received = 0
        var held: (() -> Void)?
        var flowing = false
        var done: Result<HTTPClientResponse, HTTPClientError>?
        fixture.client.stream(
            try HTTPClientRequest(url: server.url("/big?mb=50")), onHead: { _ in },
            onBody: { piece, more in
                received += piece.readableBytes
                if flowing || received < 1 << 20 { more() } else { held = more }
            }, { done = $0 })
        try fixture.wait("the consumer to stop asking") { held != nil }
        // Ask the server (on another connection) how far its writes got, until two answers 300 ms
        // apart agree: its send buffer is full.
        var answers: [Int] = []
        let deadline = Double(fixture.harness.loop.clock.nanoseconds()) / 1e9 + 20
        while answers.count < 2 || answers[answers.count - 1] != answers[answers.count - 2] {
            let now = Double(fixture.harness.loop.clock.nanoseconds()) / 1e9
            #expect(now < deadline, "the server never stalled: \(answers)")
            if now >= deadline { return }
            var ticked = false
            _ = try fixture.harness.loop.addTimer(after: 0.3) { ticked = true }
            try fixture.wait("300 ms") { ticked }
            answers.append(Int(try fixture.get(server.url("/sent")).get().text) ?? -1)
        }
        let stalledAt = answers.last!
        #expect(stalledAt < 40 << 20 && stalledAt > 0, "the server wrote \(stalledAt) bytes")
        #expect(received < 2 << 20 && done == nil)
        flowing = true
        held?()
        try fixture.wait("the rest of the body", seconds: 60) { done != nil }
        #expect(received == 50 << 20 && (try? done?.get().status) == 200)
    }

    @Test("a request body from a producer: chunked when its length is unknown, Content-Length when given")
    func streamedRequestBody() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        func producer(_ pieces: Int) -> HTTPBodyProducer {
            var sent = 0
            return { writer in
                // One piece per call, the next when the writer asks again (the socket took the last).
                guard sent < pieces else { return writer.end() }
                sent += 1
                writer.write(ByteBuffer(String(repeating: "p\(sent % 10)", count: 5000)))
            }
        }
        var chunked = try HTTPClientRequest(method: "PUT", url: server.url("/upload"))
        chunked.body = .stream(length: nil, producer(40))
        let answer = try fixture.fetch { fixture.client.request(chunked, $0) }.get().text
        #expect(answer.hasPrefix("chunked None 400000\np1p1p1"))
        var sized = try HTTPClientRequest(method: "POST", url: server.url("/upload"))
        sized.body = .stream(length: 20000, producer(2))
        #expect(try fixture.fetch { fixture.client.request(sized, $0) }.get().text.hasPrefix("None 20000 20000\np1p1"))
        // A producer that ends short of its announced length fails the request clearly.
        var short = try HTTPClientRequest(method: "POST", url: server.url("/upload"))
        short.body = .stream(length: 30000, producer(2))
        let failure = try fixture.fetch { fixture.client.request(short, $0) }
        if case .failure(let error) = failure { #expect(error.code == .bodyFailed) } else { Issue.record("a short body was sent") }
        // A streamed body cannot be sent twice: 307 is the answer; 303 goes on as a GET without it.
        var temporary = try HTTPClientRequest(method: "POST", url: server.url("/redirect?code=307&to=/echo"))
        temporary.body = .stream(length: nil, producer(1))
        #expect(try fixture.fetch { fixture.client.request(temporary, $0) }.get().status == 307)
        var seeOther = try HTTPClientRequest(method: "POST", url: server.url("/redirect?code=303&to=/echo"))
        seeOther.body = .stream(length: nil, producer(1))
        #expect(try fixture.fetch { fixture.client.request(seeOther, $0) }.get().text == "GET /echo\nNone\nNone\n")
    }

    @Test("async get, post, request and a streamed body as an AsyncSequence")
    func asyncForms() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.requestTimeout = 60
        let fixture = try HTTPClientFixture(configuration: configuration)
        defer { fixture.finish() }
        let texts = try fixture.await("async calls") { client in
            let hello = try await client.get(server.url("/hello"))
            let echoed = try await client.post(server.url("/echo"), body: .form([("a", "1 2")]))
            let put = try await client.request(try HTTPClientRequest(method: "PUT", url: server.url("/echo"), body: .json("[]")))
            return [hello.text, echoed.text, put.text]
        }.get()
        #expect(texts == ["hello", "POST /echo\napplication/x-www-form-urlencoded\nNone\na=1%202", "PUT /echo\napplication/json\nNone\n[]"])
        let total = try fixture.await("a streamed body", seconds: 60) { client in
            let response = try await client.stream(try HTTPClientRequest(url: server.url("/big?mb=8")))
            #expect(response.status == 200)
            var bytes = 0
            for try await piece in response.body { bytes += piece.readableBytes }
            return bytes
        }.get()
        #expect(total == 8 << 20)
        // A reader that stops early cancels the rest; the client goes on.
        let partial = try fixture.await("an abandoned stream") { client in
            let response = try await client.stream(try HTTPClientRequest(url: server.url("/big?mb=50")))
            var bytes = 0
            for try await piece in response.body {
                bytes += piece.readableBytes
                if bytes > 1 << 20 { break }
            }
            response.cancel()
            return bytes
        }.get()
        #expect(partial < 2 << 20)
        try fixture.wait("the abandoned connection to close") { fixture.client.connectionCounts(origin: "http://127.0.0.1:\(server.port)").open <= 1 }
        #expect(try fixture.get(server.url("/hello")).get().text == "hello")
        let failed = try fixture.await("a failure") { client in try await client.get("http://127.0.0.1:\(try freeLoopbackPort())/") }
        if case .failure(let error) = failed { #expect((error as? HTTPClientError)?.code == .connectFailed) } else { Issue.record("no failure") }
    }

    @Test("cancelling the awaiting task aborts the request and closes its connection")
    func cancellation() throws {
        let server = try PythonHTTPServer()
        defer { server.stop() }
        let fixture = try HTTPClientFixture()
        defer { fixture.finish() }
        var outcome: String?
        fixture.harness.loop.nextTick {
            let task = fixture.harness.loop.task { _ in
                do {
                    _ = try await fixture.client.get(server.url("/slow?s=5"))
                    outcome = "answered"
                } catch is CancellationError {
                    outcome = "cancelled"
                } catch {
                    outcome = "\(error)"
                }
            }
            _ = try? fixture.harness.loop.addTimer(after: 0.2) { task.cancel() }
        }
        try fixture.wait("the cancellation", seconds: 4) { outcome != nil }
        #expect(outcome == "cancelled")
        let origin = "http://127.0.0.1:\(server.port)"
        try fixture.wait("the connection to close") { fixture.client.connectionCounts(origin: origin).open == 0 }
        // The client goes on.
        #expect(try fixture.get(server.url("/hello")).get().text == "hello")
        // The callback form's task cancels too.
        let result = try fixture.fetch { completion in
            let task = fixture.client.get(server.url("/slow?s=5"), completion)
            _ = try? fixture.harness.loop.addTimer(after: 0.2) { task.cancel() }
        }
        if case .failure(let error) = result { #expect(error.code == .cancelled) } else { Issue.record("not cancelled") }
    }
}
