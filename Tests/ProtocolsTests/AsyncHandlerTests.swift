// Async handlers on a connection (no sockets: an embedded connection, a manual clock): messages handled in
// order while handlers suspend for different times (pipelined HTTP answered in order), reads paused while
// too many messages wait (back-pressure), a close cancels the handler's task, a draining connection waits
// for it, a throwing handler gets an HTTP 500 and the connection closed, and the tasks in flight counted.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

private func request(_ path: String) -> String { "GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n" }

/// The bodies of the HTTP responses in `text`, in order.
private func bodies(_ text: String) -> [String] {
    text.split(separator: "HTTP/1.1 ").map { response in
        String(response.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false).last ?? "")
    }
}

@Suite("Async handlers")
struct AsyncHandlerTests {
    /// Three pipelined requests in one read, whose handlers sleep 30, 10 and 0 ms: answered in request
    /// order, each after the one before.
    @Test func pipelinedRequestsAreAnsweredInOrderWhenHandlersSuspendForDifferentTimes() throws {
        let embedded = try EmbeddedConnection<HTTPServerCodec>()
        let delays = ["/a": 30, "/b": 10, "/c": 0]
        var started: [String] = []
        embedded.connection.onMessageAsync = { connection, request in
            started.append(request.path)
            let delay = delays[request.path] ?? 0
            if delay > 0 { try await connection.loop.sleep(for: .milliseconds(delay)) }
            connection.loop.preconditionOnLoop()
            connection.send(.response(HTTPResponse(body: "\(request.path) after \(delay)")))
        }
        embedded.receive(request("/a") + request("/b") + request("/c"))
        #expect(started == ["/a"], "the second handler started before the first finished")
        #expect(embedded.takeOutboundText().isEmpty)
        embedded.advanceTime(by: .milliseconds(30))
        #expect(started == ["/a", "/b"])
        #expect(bodies(embedded.takeOutboundText()) == ["/a after 30"])
        embedded.advanceTime(by: .milliseconds(10))
        #expect(bodies(embedded.takeOutboundText()) == ["/b after 10", "/c after 0"])
        #expect(TransportContext.of(embedded.loop).tasks.count == 0)
    }

    /// A handler that does not suspend answers inside the read, as a sync handler does.
    @Test func aHandlerThatDoesNotSuspendAnswersAtOnce() throws {
        let embedded = try EmbeddedConnection<HTTPServerCodec>()
        embedded.connection.onMessageAsync = { connection, _ in connection.send("hello") }
        embedded.receive(request("/") + request("/"))
        #expect(bodies(embedded.takeOutboundText()) == ["hello", "hello"])
        #expect(TransportContext.of(embedded.loop).tasks.count == 0)
    }

    /// With two messages allowed to wait, the connection stops reading at the second waiting one and reads
    /// again once the handler caught up; no message is lost or reordered.
    @Test func readsPauseWhileTooManyMessagesWait() throws {
        let embedded = try EmbeddedConnection<TextCodec>()
        var pending: [LoopCompletion<Void>] = []
        var handled: [String] = []
        embedded.connection.maxQueuedMessages = 2
        embedded.connection.onMessageAsync = { connection, line in
            try await connection.loop.withCompletion { pending.append($0) }
            handled.append(line)
        }
        embedded.receive("1\n")
        embedded.receive("2\n")
        #expect(!embedded.connection.isPaused)
        embedded.receive("3\n4\n5\n")
        #expect(embedded.connection.isPaused, "two messages wait: reading should pause")
        #expect(embedded.connection.receiveBufferQueueSize == 4, "the fourth and fifth lines wait unparsed")
        while handled.count < 5 {
            guard let next = pending.first else {
                Issue.record("no handler waits, after \(handled)")
                break
            }
            pending.removeFirst()
            next.succeed(())
            embedded.run()
        }
        #expect(handled == ["1", "2", "3", "4", "5"])
        #expect(!embedded.connection.isPaused)
    }

    /// The peer closing the connection cancels the suspended handler; the task ends, and is no longer
    /// counted in flight.
    @Test func aClosedConnectionCancelsItsHandler() throws {
        let embedded = try EmbeddedConnection<TextCodec>()
        var outcome = ""
        embedded.connection.onMessageAsync = { connection, _ in
            do {
                try await connection.loop.sleep(for: .seconds(60))
                outcome = "slept"
            } catch is CancellationError {
                outcome = "cancelled: \(Task.isCancelled)"
            }
        }
        embedded.receive("wait\n")
        let tasks = TransportContext.of(embedded.loop).tasks
        #expect(tasks.count == 1)
        #expect(tasks.oldest?.callback == .onMessage)
        #expect(tasks.oldest?.subject == UInt64(embedded.connection.id))
        embedded.receiveEndOfStream()
        #expect(embedded.isClosed)
        #expect(outcome == "cancelled: true")
        #expect(tasks.count == 0)
        #expect(embedded.loop.timerCount == 0, "the sleep's timer was left behind")
    }

    /// A draining connection (graceful stop, reload) waits for its handler, then closes.
    @Test func aDrainingConnectionWaitsForItsHandler() throws {
        let embedded = try EmbeddedConnection<TextCodec>()
        var pending: LoopCompletion<Void>?
        embedded.connection.onMessageAsync = { connection, line in
            try await connection.loop.withCompletion { pending = $0 }
            connection.send("done \(line)")
        }
        embedded.receive("job\n")
        embedded.connection.closeWhenIdle()
        embedded.run()
        #expect(!embedded.isClosed, "closed with its handler in flight")
        pending?.succeed(())
        embedded.run()
        #expect(embedded.takeOutboundText() == "done job\n")
        #expect(embedded.isClosed)
    }

    /// A handler that throws before answering: HTTP 500, the connection closed, the throw counted; a
    /// handler that answered first and then threw gets no second answer.
    @Test func aThrowingHandlerGetsA500AndItsConnectionClosed() throws {
        struct Broken: Error {}
        for answersFirst in [false, true] {
            let embedded = try EmbeddedConnection<HTTPServerCodec>()
            var logged: [String] = []
            embedded.loop.errorHandler = { logged.append("\($0)") }
            embedded.connection.onMessageAsync = { connection, _ in
                try await connection.loop.sleep(for: .milliseconds(1))
                if answersFirst { connection.send("partial") }
                throw Broken()
            }
            embedded.receive(request("/") + request("/next"))
            embedded.advanceTime(by: .milliseconds(1))
            let output = embedded.takeOutboundText()
            if answersFirst {
                #expect(output.hasPrefix("HTTP/1.1 200"))
                #expect(!output.contains("500"))
            } else {
                #expect(output.hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
                #expect(output.contains("Connection: close\r\n"))
            }
            #expect(bodies(output).count == 1, "the pipelined request was answered")
            #expect(embedded.isClosed)
            #expect(TransportContext.of(embedded.loop).statistics.throwException == 1)
            #expect(logged.count == 1 && logged[0].contains("Broken"))
        }
    }

    /// `onConnectAsync` runs first; messages wait for it.
    @Test func messagesWaitForOnConnectAsync() throws {
        let embedded = try EmbeddedConnection<TextCodec>()
        var pending: LoopCompletion<Void>?
        var order: [String] = []
        embedded.connection.handlers.onConnectAsync = { connection in
            try await connection.loop.withCompletion { pending = $0 }
            order.append("connected")
        }
        embedded.connection.onMessageAsync = { _, line in order.append(line) }
        // The embedded connection is already established: deliver the connect as a server would.
        try embedded.connection.handlers.onConnect?(embedded.connection)
        embedded.receive("first\n")
        #expect(order.isEmpty)
        pending?.succeed(())
        embedded.run()
        #expect(order == ["connected", "first"])
    }

    /// Setting the sync `onMessage` replaces the async one.
    @Test func theSyncCallbackReplacesTheAsyncOne() throws {
        var handlers = ConnectionHandlers<TextCodec>()
        handlers.onMessageAsync = { _, _ in }
        #expect(handlers.onMessageAsync != nil && handlers.onMessage != nil)
        handlers.onMessage = { _, _ in }
        #expect(handlers.onMessageAsync == nil && handlers.onMessage != nil)
        handlers.onMessageAsync = nil
        #expect(handlers.onMessage == nil)
    }

    /// Over a real loopback socket: three pipelined requests whose handlers await `Task.sleep` (a timer on
    /// the runtime's own threads, as a SwiftNIO client resumes on its own) for 30, 10 and 0 ms; each
    /// resumes on the loop thread, and the answers come back in request order.
    @Test func pipelinedRequestsOverASocketAreAnsweredInOrder() throws {
        let harness = try WSLoop()
        let server = try harness.server(HTTPServerCodec.self) { server in
            server.onMessageAsync = { connection, request in
                let delay = Int(request.path.dropFirst()) ?? 0
                try await Task.sleep(for: .milliseconds(delay))
                connection.loop.preconditionOnLoop()
                connection.send(.response(HTTPResponse(body: "waited \(delay)")))
            }
        }
        let client = try RawHTTPClient(harness, port: server.port)
        client.send(request("/30") + request("/10") + request("/0"))
        #expect(harness.until { client.responses.count >= 3 })
        #expect(client.responses.map(\.text) == ["waited 30", "waited 10", "waited 0"])
        client.connection.close()
        harness.settle()
        #expect(TransportContext.of(harness.loop).tasks.count == 0)
        harness.finish()
    }
}
