import Synchronization
import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanComponents

#if canImport(Glibc)
import Glibc
#endif

/// A GlobalData server served on the test's own loop, and its address.
private func startServer(_ testLoop: TestLoop, log: ComponentLogger? = nil) throws -> (GlobalDataServer, TCPServer<FrameCodec>, String) {
    let server = try GlobalDataServer("127.0.0.1:0")
    if let log { server.log = log }
    let tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:0")
    return (server, tcp, "127.0.0.1:\(tcp.listener!.address.port)")
}

@Suite("GlobalData client and server over sockets")
struct GlobalDataClientTests {
    @Test("every call of the async client, against our server")
    func asyncCalls() throws {
        let testLoop = try TestLoop()
        let (_, tcp, address) = try startServer(testLoop)
        defer { tcp.closeAll() }
        let client = try GlobalDataClient(loop: testLoop.loop, servers: [address])
        var log: [String] = []
        client.set("user", ["name": "ada", "langs": ["swift", "php"]]) { log.append("set \(try $0.get())") }
        client.get("user") { log.append("get \(try $0.get())") }
        client.add("user", 1) { log.append("add \(try $0.get())") }
        client.exists("user") { log.append("exists \(try $0.get())") }
        client.exists("nobody") { log.append("exists \(try $0.get())") }
        client.increment("hits") { log.append("increment \(String(describing: try $0.get()))") }
        client.add("hits", 10) { log.append("add \(try $0.get())") }
        client.increment("hits", by: 5) { log.append("increment \(String(describing: try $0.get()))") }
        client.cas("hits", expected: 14, new: 0) { log.append("cas \(try $0.get())") }
        client.cas("hits", expected: 15, new: 0) { log.append("cas \(try $0.get())") }
        client.remove("user") { log.append("remove \(try $0.get())") }
        client.get("user") { log.append("get \(try $0.get())") }
        try testLoop.run(until: "12 replies") { log.count == 12 }
        #expect(
            log == [
                "set ()", #"get ["name" => "ada", "langs" => [0 => "swift", 1 => "php"]]"#, "add false", "exists true",
                "exists false", "increment nil", "add true", "increment Optional(15)", "cas false", "cas true",
                "remove ()", "get null",
            ]
        )
        #expect(testLoop.errors.isEmpty)
    }

    @Test("the blocking client, from another thread, against our server on the loop")
    func blockingCalls() throws {
        let testLoop = try TestLoop()
        let (_, tcp, address) = try startServer(testLoop)
        defer { tcp.closeAll() }
        let results = ThreadLock<[String]>([])
        let done = Atomic<Bool>(false)
        let thread = try BackgroundThread {
            defer { done.store(true, ordering: .releasing) }
            do {
                let client = try GlobalDataBlockingClient(servers: [address], timeout: 5)
                try client.set("k", 1.5)
                let added = try client.add("k", 2)
                let incremented = try client.increment("k", by: 2)
                let swapped = try client.cas("k", expected: 3.5, new: "x")
                let value = try client.get("k")
                try client.remove("k")
                let exists = try client.exists("k")
                results.withLock { $0 = ["\(added)", "\(String(describing: incremented))", "\(swapped)", "\(value)", "\(exists)"] }
            } catch {
                results.withLock { $0 = ["\(error)"] }
            }
        }
        try testLoop.run(until: "the blocking calls") { done.load(ordering: .acquiring) }
        thread.join()
        #expect(results.withLock { $0 } == ["false", "Optional(3.5)", "true", "\"x\"", "false"])
    }

    @Test("keys spread over several servers by crc32, and each key stays on its server")
    func sharding() throws {
        let testLoop = try TestLoop()
        let servers = try (0..<3).map { _ in try startServer(testLoop) }
        defer { for (_, tcp, _) in servers { tcp.closeAll() } }
        let client = try GlobalDataClient(loop: testLoop.loop, servers: servers.map(\.2))
        var acknowledged = 0
        for index in 0..<30 { client.set("key\(index)", .int(index)) { _ in acknowledged += 1 } }
        try testLoop.run(until: "30 sets") { acknowledged == 30 }
        for (index, (server, _, _)) in servers.enumerated() {
            let expected = (0..<30).filter { GlobalDataCommand.serverIndex(for: "key\($0)", count: 3) == index }
            #expect(server.store.values.count == expected.count)
            #expect(!expected.isEmpty)
        }
    }

    @Test("a server that is down fails calls fast with .unreachable; the blocking form throws it")
    func serverDown() throws {
        let testLoop = try TestLoop()
        let port = try freePort()
        let client = try GlobalDataClient(loop: testLoop.loop, servers: ["127.0.0.1:\(port)"])
        var failure: GlobalDataError?
        let started = monotonicSeconds()
        client.get("x") { result in
            if case .failure(let error) = result { failure = error }
        }
        try testLoop.run(until: "the failure") { failure != nil }
        #expect(failure?.code == .unreachable)
        #expect(monotonicSeconds() - started < 2)
        #expect("\(failure!)".contains("127.0.0.1:\(port)"))
        #expect(throws: GlobalDataError.self) { try GlobalDataBlockingClient(servers: ["127.0.0.1:\(port)"]).get("x") }
    }

    @Test("a server that never answers times the call out, and the next call reconnects")
    func timeout() throws {
        let testLoop = try TestLoop()
        // A frame server that swallows everything.
        let silent = try TCPServer<FrameCodec>(loop: testLoop.loop, address: "frame://127.0.0.1:0")
        try silent.start()
        defer { silent.closeAll() }
        let client = try GlobalDataClient(loop: testLoop.loop, servers: ["127.0.0.1:\(silent.listener!.address.port)"], timeout: 0.2)
        var failures: [GlobalDataError] = []
        client.get("a") { if case .failure(let error) = $0 { failures.append(error) } }
        client.get("b") { if case .failure(let error) = $0 { failures.append(error) } }
        try testLoop.run(until: "two timeouts") { failures.count == 2 }
        #expect(failures.map(\.code) == [.timedOut, .timedOut])
    }

    @Test("bad input: garbage, an unknown command and an oversized frame close that connection only; the log says so")
    func badInput() throws {
        let testLoop = try TestLoop()
        var logged: [String] = []
        let (server, tcp, address) = try startServer(testLoop) { logged.append($0) }
        server.worker.maxPackageSize = 1024
        defer { tcp.closeAll() }
        tcp.maxPackageSize = 1024
        let good = try GlobalDataClient(loop: testLoop.loop, servers: [address])

        var answers: [String] = []
        var closed = 0
        func rogue(_ body: [UInt8], header: [UInt8]? = nil) throws {
            let connection = try TCPClient<FrameCodec>(loop: testLoop.loop, url: "frame://\(address)")
            connection.onConnect = { connection in
                if let header {
                    _ = connection.sendRaw(ByteBuffer(header + body))
                } else {
                    connection.send(body)
                }
            }
            connection.onMessage = { _, reply in answers.append((try? PHPValue(unserializing: reply))?.stringValue ?? "?") }
            connection.onClose = { _ in closed += 1 }
            connection.connect()
        }
        try rogue(Array("garbage".utf8))
        try rogue(ByteBuffer((["cmd": "explode", "key": "k"] as PHPValue).serialized()).bytes)
        try rogue([], header: [0x7F, 0xFF, 0xFF, 0xFF])  // announces 2 GiB
        var value: PHPValue?
        good.set("still", "serving") { _ in good.get("still") { value = try $0.get() } }
        try testLoop.run(until: "three closes and the good client's answer") { closed == 3 && value != nil }
        #expect(answers.sorted() == ["bad cmd explode", "bad request"])
        #expect(value == "serving")
        #expect(logged.count == 3)
        #expect(logged.contains { $0.contains("explode") })
        #expect(logged.contains { $0.contains("maxPackageSize") || $0.contains("exceeds") })
    }
}
