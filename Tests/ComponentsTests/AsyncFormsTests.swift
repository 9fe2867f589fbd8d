// The async forms, over loopback on one test loop: GlobalData calls that `try await` and throw the
// callback's error codes, Channel events and queue jobs read as AsyncSequences, a TCP client that
// `try await`s its connect and reads its messages as a sequence. Every await resumes on the loop thread.

import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

@Suite("Async forms of the clients")
struct AsyncFormsTests {
    @Test func globalDataCallsAwaitTheirReplies() throws {
        let testLoop = try TestLoop()
        let server = try GlobalDataServer("127.0.0.1:0")
        let tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:0")
        defer { tcp.closeAll() }
        let client = try GlobalDataClient(loop: testLoop.loop, servers: ["127.0.0.1:\(tcp.listener!.address.port)"])
        var log: [String] = []
        var finished = false
        testLoop.loop.task { loop in
            log.append("increment \(String(describing: try await client.increment("hits")))")
            try await client.set("hits", 41)
            log.append("increment \(String(describing: try await client.increment("hits")))")
            log.append("add \(try await client.add("hits", 1))")
            log.append("exists \(try await client.exists("hits"))")
            log.append("cas \(try await client.cas("hits", expected: 42, new: 0))")
            log.append("get \(try await client.get("hits"))")
            try await client.remove("hits")
            log.append("get \(try await client.get("hits"))")
            loop.preconditionOnLoop()
            finished = true
        }
        try testLoop.run(until: "the calls") { finished }
        #expect(
            log == ["increment nil", "increment Optional(42)", "add false", "exists true", "cas true", "get 0", "get null"]
        )
        client.close()
    }

    @Test func aGlobalDataCallToNoServerThrowsTheCallbacksCode() throws {
        let testLoop = try TestLoop()
        let port = try freePort()
        let client = try GlobalDataClient(loop: testLoop.loop, servers: ["127.0.0.1:\(port)"], timeout: 2)
        var code: GlobalDataError.Code?
        testLoop.loop.task { _ in
            do {
                _ = try await client.get("k")
            } catch let error as GlobalDataError {
                code = error.code
            }
        }
        try testLoop.run(until: "the error") { code != nil }
        #expect(code == .unreachable)
        client.close()
    }

    @Test func channelEventsAndJobsAreAsyncSequences() throws {
        let testLoop = try TestLoop()
        let server = try ChannelServer("127.0.0.1:0")
        let tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:0")
        defer { tcp.closeAll() }
        let address = "127.0.0.1:\(tcp.listener!.address.port)"
        let subscriber = ChannelClient(loop: testLoop.loop, server: address)
        let publisher = ChannelClient(loop: testLoop.loop, server: address)
        var received: [String] = []
        var jobs: [String] = []
        subscriber.onConnect = {
            for index in 1...3 { publisher.publish("news", PHPValue(stringLiteral: "item \(index)")) }
            for index in 1...2 { publisher.enqueue("work", PHPValue(stringLiteral: "job \(index)")) }
        }
        testLoop.loop.task { _ in
            for try await data in subscriber.events("news") {
                received.append(data.stringValue ?? "?")
                if received.count == 3 { break }
            }
        }
        testLoop.loop.task { _ in
            for try await job in subscriber.jobs("work") {
                jobs.append(job.stringValue ?? "?")
                if jobs.count == 2 { break }
            }
        }
        subscriber.connect()
        try testLoop.run(until: "3 events and 2 jobs") { received.count == 3 && jobs.count == 2 }
        #expect(received == ["item 1", "item 2", "item 3"])
        #expect(jobs == ["job 1", "job 2"])
        subscriber.close()
        publisher.close()
    }

    @Test func aTCPClientAwaitsItsConnectAndReadsItsMessagesAsASequence() throws {
        let testLoop = try TestLoop()
        let server = try TCPServer<TextCodec>(loop: testLoop.loop, address: "text://127.0.0.1:0")
        server.onMessage = { connection, line in
            connection.send("echo \(line)")
            if line == "bye" { connection.close() }
        }
        try server.start()
        defer { server.closeAll() }
        let client = try TCPClient<TextCodec>(loop: testLoop.loop, url: "text://127.0.0.1:\(server.listener!.address.port)")
        var lines: [String] = []
        var connectError: TransportError.Code?
        var finished = false
        testLoop.loop.task { loop in
            try await client.connect()
            loop.preconditionOnLoop()
            client.send("one")
            client.send("bye")
            for try await line in client.messages() { lines.append(line) }
            // A refused connection throws the code `onError` reports.
            let refused = try TCPClient<TextCodec>(loop: loop, url: "text://127.0.0.1:\(try freePort())")
            do {
                try await refused.connect()
            } catch let error as TransportError {
                connectError = error.code
            }
            finished = true
        }
        try testLoop.run(until: "the exchange") { finished }
        #expect(lines == ["echo one", "echo bye"])
        #expect(connectError == .connectFailed)
    }
}
